// Tables on a phone: below 640 px wide each row becomes a card (web/css/app.css), and a
// cell needs the name of its column beside it. This labels every cell of the tables in
// `root` with its column's header, as they are rendered and re-rendered.

/** Sets `data-label` on each body cell of `table` from the header cell above it. */
function label(table) {
  const heads = [...(table.tHead?.rows[0]?.cells ?? [])].map((th) => th.textContent.trim());
  if (!heads.length) return;
  for (const body of table.tBodies) {
    for (const row of body.rows) {
      let column = 0;
      for (const cell of row.cells) {
        const name = heads[column] ?? '';
        if (cell.dataset.label !== name) cell.dataset.label = name;
        column += cell.colSpan || 1;
      }
    }
  }
}

/** Keeps the tables under `root` labelled for as long as the page lives. */
export function labelTables(root) {
  let queued = false;
  const run = () => {
    queued = false;
    root.querySelectorAll('table').forEach(label);
  };
  new MutationObserver(() => {
    if (!queued) {
      queued = true;
      requestAnimationFrame(run);
    }
  }).observe(root, { childList: true, subtree: true, characterData: true });
  run();
}
