// Paging a list that is already in the browser: the page's slice, and a "Previous · Page x of y · Next" bar.
import {el, show} from "./dom.js";

// nav: the <nav> that holds the bar; render(): shows the list again (after a turn of the page).
export function makePager(nav, render) {
  let page = 0, size = 25;
  const where = el("span", {class: "where"});
  const prev = el("button", {type: "button", onclick: () => turn(-1)}, "‹ Previous");
  const next = el("button", {type: "button", onclick: () => turn(1)}, "Next ›");
  show(nav, prev, where, next);

  function turn(step) {
    page += step;
    render();
    // A button that is disabled now (first or last page) loses the focus: give it to the other one.
    if (document.activeElement === document.body || document.activeElement.disabled) (prev.disabled ? next : prev).focus();
  }

  return {
    // The items of the page shown (a page past the end shows the last one).
    slice(items) {
      const pages = Math.max(1, Math.ceil(items.length / size));
      page = Math.min(Math.max(page, 0), pages - 1);
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
      where.textContent = "Page " + (page + 1) + " of " + pages;
      nav.hidden = pages <= 1;
      return items.slice(page * size, (page + 1) * size);
    },
    range: (total) => total ? (page * size + 1) + "–" + Math.min(total, (page + 1) * size) : "0",
    first() { page = 0; },
    setSize(n) { size = n; page = 0; },
  };
}
