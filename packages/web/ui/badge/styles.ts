// The badge's styles live inside its shadow root: the host page's CSS cannot
// reach in and these rules cannot leak out. `all: initial` on the host stops
// inherited properties (font, colour, line height) of the page.

/** CSS of one badge's shadow root. */
export const BADGE_CSS = `
:host{all:initial;display:inline-block;vertical-align:middle;max-width:100%}
.badge{box-sizing:border-box;display:grid;grid-template-columns:minmax(0,1fr) auto;gap:3px 12px;align-items:center;
min-width:220px;max-width:340px;padding:8px 10px;border:1px solid #d0d7de;border-radius:8px;background:#fff;
color:#1f2328;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
box-shadow:0 1px 2px rgba(31,35,40,.08)}
.head{display:flex;align-items:center;gap:6px;min-width:0}
.dot{flex:none;width:8px;height:8px;border-radius:50%;background:#8c959f}
.badge[data-active] .dot{background:#2da44e}
.room{font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.count{flex:none;color:#57606a}
.sep{color:#8c959f}
.latest{grid-column:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;color:#424a53;font-size:12px}
.latest:empty::before{content:"No messages yet";color:#8c959f}
.nick{font-weight:600}
.join{grid-column:2;grid-row:1/span 2;padding:4px 12px;border-radius:6px;background:#1f883d;color:#fff;
font-weight:600;text-decoration:none}
.join:hover{background:#1a7f37}
.join:focus-visible{outline:2px solid #0969da;outline-offset:2px}
.badge[data-state=reconnecting] .dot,.badge[data-state=offline] .dot{background:#bf8700}
`;
