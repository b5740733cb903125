// Loading a list from the API into a table — the one way every list of the console is loaded.
import {call} from "./api.js";
import {$, show} from "./dom.js";
import {errorBox} from "./messages.js";

// A list's table body, caption and message box, by the prefix of their ids (persons-body, persons-caption…).
export const tableOf = (prefix) => ({body: $(prefix + "-body"), caption: $(prefix + "-caption"), message: $(prefix + "-message")});

// Show items in a table: a row per item, and the caption's text.
export function fillTable(table, items, row, caption) {
  show(table.body, ...items.map(row));
  table.caption.textContent = caption(items);
}

// Load one list into its table: "Loading…" in the caption, then a row per item and the caption's text.
// A list that fails to load empties its table and shows the error in its message box, marked as a load
// error: the next load that succeeds removes it (messages of actions stay), and failedToLoad finds it.
//   url():        the URL, built inside the attempt (building it may throw an ApiError, e.g. a bad date)
//   items(data):  the list in the answer;  row(item): its table row;  caption(items): the caption's text
//   stale():      true when the answer arrives too late to be shown (another session opened meanwhile)
//   loaded(data): shows what else the answer holds, before the rows;  failed(): clears it
export async function loadTable(table, {url, items, row, caption, stale = () => false, loaded = () => {}, failed = () => {}}) {
  const {caption: captionBox, message} = table;
  captionBox.textContent = "Loading…";
  try {
    const data = await call(url(), {cache: "no-store"});
    if (stale()) return;
    loaded(data);
    fillTable(table, items(data), row, caption);
    if (message.querySelector("[data-load-error]")) show(message);
  } catch (err) {
    if (stale()) return;
    show(table.body);
    failed();
    captionBox.textContent = "";
    const box = errorBox(err);
    box.dataset.loadError = "";
    show(message, box);
  }
}
