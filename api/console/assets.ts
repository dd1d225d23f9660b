/**
 * The console's stylesheet and its one script, served from the app (never a CDN) so the
 * Content-Security-Policy can allow 'self' and nothing else. The script only adds copy buttons:
 * every page works without it.
 */

export const CONSOLE_CSS = `
:root { --fg: #1d2330; --muted: #5b6473; --line: #d8dde6; --bg: #f6f7f9; --accent: #2456c9; --ok: #1f7a3a; --bad: #b3261e; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem; background: #1d2330; color: #fff; }
header.top .brand { font-weight: 600; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top nav a { color: #cfd8ea; text-decoration: none; padding: .2rem 0; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #fff; }
header.top .sign-out { display: flex; align-items: center; gap: .6rem; margin: 0; }
header.top .who { color: #cfd8ea; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 .6rem; }
a { color: var(--accent); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: .9rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.flash { padding: .6rem .9rem; border-radius: 4px; border: 1px solid; }
.flash.status { background: #e8f5ec; border-color: #9fd1ad; color: var(--ok); }
.flash.alert { background: #fdecea; border-color: #f1aaa4; color: var(--bad); }
.warning { color: var(--warn); font-weight: 600; }
.muted, .empty { color: var(--muted); }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85rem; background: #e6e9f0; }
.badge.stuck, .badge.rejected { background: #fdecea; color: var(--bad); }
.badge.delivered, .badge.confirmed { background: #e8f5ec; color: var(--ok); }
form { margin: 0; }
form.filters, form.inline-form, .card form, form.card { display: flex; flex-wrap: wrap; align-items: flex-end; gap: .6rem 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem; margin: 1rem 0; }
.actions { display: flex; flex-wrap: wrap; gap: .8rem; align-items: flex-end; }
.actions form { display: flex; gap: .4rem; align-items: flex-end; }
label.field { display: flex; flex-direction: column; gap: .15rem; font-size: .9rem; }
label.check { display: flex; gap: .35rem; align-items: center; font-size: .9rem; }
input, select, button { font: inherit; padding: .3rem .5rem; border: 1px solid #b8c0cc; border-radius: 4px; background: #fff; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: var(--bad); border-color: var(--bad); }
header.top button { background: transparent; border-color: #8592ab; color: #fff; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
dl.facts dt { color: var(--muted); }
.copyable { display: grid; grid-template-columns: 14rem 1fr auto; gap: .6rem; align-items: center; padding: .35rem 0; border-bottom: 1px solid var(--line); }
.copyable code { background: #eef1f6; padding: .2rem .4rem; border-radius: 3px; overflow-wrap: anywhere; }
pre.xml { background: #fff; border: 1px solid var(--line); padding: .8rem; max-height: 28rem; overflow: auto; font-size: .85rem; }
.pager { display: flex; gap: 1rem; margin: .8rem 0; }
`;

/** Copy buttons start hidden, so a page without script shows none that would not work. */
export const CONSOLE_JS = `
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  var target = document.getElementById(button.getAttribute('data-copy'));
  if (!target || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    navigator.clipboard.writeText(target.textContent || '').then(function () {
      button.textContent = 'Copied';
      setTimeout(function () { button.textContent = 'Copy'; }, 1500);
    });
  });
});
`;
