// The embeddable live badge, served as /badge.js:
//   <script async src="https://HOST/badge.js" data-room="lobby"></script>
// Each snippet on a page loads this file, so it may run several times. The
// first copy renders every snippet and owns the observe loops; a later copy
// only asks it (a cancelable DOM event, no global variable) to render the
// snippets that appeared since, so all badges share ONE observe per deployment.
import { BadgeRenderer } from './badge/snippets.js';

/** Event a copy of badge.js dispatches on `document`; the first copy cancels it and rescans. */
const SCAN_EVENT = 'parley-badge-scan';

function main(): void {
  const request = new Event(SCAN_EVENT, { cancelable: true });
  document.dispatchEvent(request);
  if (request.defaultPrevented) return;

  const renderer = new BadgeRenderer();
  document.addEventListener(SCAN_EVENT, (event) => {
    event.preventDefault();
    renderer.scan();
  });
  renderer.scan();
  // An async script can run before the parser reached later snippets.
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', () => renderer.scan(), { once: true });
}

main();
