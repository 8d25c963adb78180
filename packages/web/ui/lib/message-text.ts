// A message's text as DOM nodes: links, `code`, code blocks, **bold**,
// *italics* and @mentions. markdown-it only parses (html:false, so markup in a
// message is text); this module builds the elements from its tokens with `el`,
// one known token type at a time, so no HTML string is ever produced or parsed.
import markdownIt, { type Token } from 'markdown-it';
import { el, type Child } from './dom.js';

// The 'zero' preset plus what chat needs. Not enabled: headings, lists,
// quotes, tables, images, [text](url) links and entity references (`&copy;`
// stays as typed); indented code ('code'), since an indented line in a chat
// is rarely meant as a block.
const markdown = markdownIt('zero', { html: false, linkify: true, breaks: true }).enable([
  'backticks',
  'emphasis',
  'escape',
  'fence',
  'linkify',
  'newline',
]);
// Only URLs become links; a bare address or `example.com` stays text.
markdown.linkify.set({ fuzzyEmail: false, fuzzyLink: false });

/** What links open: only the web; anything else (`javascript:`, `data:`) is shown as text. */
const LINK_PROTOCOLS = new Set(['http:', 'https:']);

/** `@name`: a letter, digit or `_`, then also `.` and `-` (not at the end). After start, space or punctuation other than `@`. */
const MENTION = /(^|[^\p{L}\p{N}_@])@([\p{L}\p{N}_](?:[\p{L}\p{N}_.-]*[\p{L}\p{N}_])?)/gu;

/** A message rendered for one reader. */
export interface RenderedText {
  /** The text's element (`dir="auto"`, so Arabic or Hebrew reads right to left). */
  element: HTMLDivElement;
  /** The reader was mentioned with `@their-nickname` (case-insensitive). */
  mentionsMe: boolean;
}

/** The web address `href` if it is one a link may open, else `undefined`. */
export function safeHref(href: string | null): string | undefined {
  if (href === null) return undefined;
  try {
    return LINK_PROTOCOLS.has(new URL(href).protocol) ? href : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `text` mentions `nickname` (`@nickname`, any case; a nickname with spaces as typed after `@`). */
export function mentions(text: string, nickname: string | undefined): boolean {
  if (nickname === undefined) return false;
  const wanted = nickname.toLocaleLowerCase();
  for (const match of text.matchAll(MENTION)) if (match[2]?.toLocaleLowerCase() === wanted) return true;
  return /[^\p{L}\p{N}_.-]/u.test(nickname) && text.toLocaleLowerCase().includes(`@${wanted}`);
}

/** Plain text with each `@name` in a `<span class="mention">` (and `mention-me` when it is the reader). */
function withMentions(text: string, me: string | undefined): Child[] {
  const parts: Child[] = [];
  let last = 0;
  for (const match of text.matchAll(MENTION)) {
    const name = match[2] ?? '';
    const start = (match.index ?? 0) + (match[1]?.length ?? 0);
    parts.push(text.slice(last, start));
    const isMe = me !== undefined && name.toLocaleLowerCase() === me.toLocaleLowerCase();
    parts.push(el('span', { class: isMe ? 'mention mention-me' : 'mention' }, `@${name}`));
    last = start + name.length + 1;
  }
  parts.push(text.slice(last));
  return parts.filter((part) => part !== '');
}

/** Appends the inline tokens of one paragraph to `parent`. */
function appendInline(parent: HTMLElement, tokens: Token[], me: string | undefined): void {
  // Open elements; `null` stands for a link that was refused (its text goes to the parent).
  const stack: Array<HTMLElement | null> = [parent];
  const top = (): HTMLElement => {
    for (let index = stack.length - 1; index >= 0; index--) {
      const element = stack[index];
      if (element !== null && element !== undefined) return element;
    }
    return parent;
  };
  const insideLink = (): boolean => stack.some((element) => element?.tagName === 'A');
  for (const token of tokens) {
    switch (token.type) {
      case 'text':
        for (const part of insideLink() ? [token.content] : withMentions(token.content, me)) {
          top().append(typeof part === 'string' ? document.createTextNode(part) : (part as Node));
        }
        break;
      case 'text_special':
        top().append(token.content);
        break;
      case 'softbreak':
      case 'hardbreak':
        top().append('\n');
        break;
      case 'code_inline':
        top().append(el('code', {}, token.content));
        break;
      case 'em_open':
      case 'strong_open': {
        const element = el(token.type === 'em_open' ? 'em' : 'strong');
        top().append(element);
        stack.push(element);
        break;
      }
      case 'link_open': {
        const raw = token.attrGet('href');
        const href = safeHref(typeof raw === 'string' ? raw : null);
        if (href === undefined) {
          stack.push(null);
          break;
        }
        const link = el('a', { href, rel: 'noopener noreferrer nofollow', target: '_blank' });
        top().append(link);
        stack.push(link);
        break;
      }
      case 'em_close':
      case 'strong_close':
      case 'link_close':
        if (stack.length > 1) stack.pop();
        break;
      default:
        // A token type this page does not know is shown as its source text.
        top().append(token.content);
    }
  }
}

/**
 * Renders `text` for the reader `me`. Paragraphs are separated by a blank line
 * and line breaks kept (the element is `white-space: pre-wrap`), so its
 * `textContent` reads like what was typed, minus the formatting marks.
 */
export function renderMessageText(text: string, me: string | undefined): RenderedText {
  const element = el('div', { class: 'text', dir: 'auto' });
  let previous: 'paragraph' | 'block' | undefined;
  for (const token of markdown.parse(text, {})) {
    if (token.type === 'inline') {
      if (previous === 'paragraph') element.append('\n\n');
      appendInline(element, token.children ?? [], me);
      previous = 'paragraph';
    } else if (token.type === 'fence' || token.type === 'code_block') {
      element.append(el('pre', { dir: 'ltr' }, el('code', {}, token.content.replace(/\n$/, ''))));
      previous = 'block';
    }
  }
  return { element, mentionsMe: mentions(text, me) };
}
