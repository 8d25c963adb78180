/**
 * The value of one sample in Prometheus text: the series `name` (which may
 * carry its labels, `name{state="waiting"}`), or `name` with exactly `labels`.
 * Missing → undefined. The metrics tests of every role read scrapes with it.
 */
export function sample(text: string, name: string, labels = ''): number | undefined {
  const wanted = labels === '' ? name : `${name}{${labels}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0 && line.slice(0, space) === wanted) return Number(line.slice(space + 1));
  }
  return undefined;
}
