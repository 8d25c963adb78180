/** Attributes of `el`: strings are set with `setAttribute`, `true` adds a bare attribute, `false`/`undefined` skip it. */
export type Attributes = Record<string, string | boolean | undefined>;

/** A child of `el`: a node, or a string that becomes a text node (never parsed as HTML). */
export type Child = Node | string | null | undefined | false;

/**
 * Creates an element. Every piece of data ends up in an attribute or a text
 * node, so nothing a person typed can ever become markup: the page has no
 * `innerHTML` at all.
 */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : value);
  }
  append(element, ...children);
  return element;
}

/** Appends children (strings as text nodes). */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, ...children);
}

let idCounter = 0;
/** A document-unique id for `label for` / `aria-describedby` pairs. */
export function uniqueId(prefix: string): string {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled text field: `<label for>` and its `<input>`, with an error line announced when set. */
export interface Field {
  label: HTMLLabelElement;
  input: HTMLInputElement;
  error: HTMLParagraphElement;
  /** Shows `message` under the field (and marks it invalid), or clears it with `undefined`. */
  setError(message: string | undefined): void;
}

/** Builds a labelled input whose error line is tied to it by `aria-describedby`. */
export function field(labelText: string, attributes: Attributes): Field {
  const id = uniqueId('field');
  const errorId = `${id}-error`;
  const label = el('label', { for: id }, labelText);
  const input = el('input', { id, 'aria-describedby': errorId, ...attributes });
  const error = el('p', { id: errorId, class: 'field-error', hidden: true });
  return {
    label,
    input,
    error,
    setError(message) {
      error.textContent = message ?? '';
      error.hidden = message === undefined;
      if (message === undefined) input.removeAttribute('aria-invalid');
      else input.setAttribute('aria-invalid', 'true');
    },
  };
}
