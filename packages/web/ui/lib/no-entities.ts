// Stands in for the `entities` package in the page bundle (scripts/build-ui.mjs
// aliases it). markdown-it decodes named character references (`&copy;`) only
// in rules the chat page turns off (entity, link, image) and in a code fence's
// info string, which the page ignores; the 40 kB table would be dead weight.
// So a reference is never decoded: `&copy;` in a message stays as typed.

/** The text unchanged (markdown-it keeps a reference that does not decode as it is). */
export function decodeHTMLStrict(text: string): string {
  return text;
}
