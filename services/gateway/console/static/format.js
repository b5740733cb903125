// Values as the console writes them: "—" for nothing, times in the browser's time zone.

export const fmt = (v) => (v === null || v === undefined || v === "") ? "—" : String(v);
export const sim = (v) => typeof v === "number" ? v.toFixed(3) : "—";
export const percent = (p) => typeof p === "number" ? p.toFixed(1) + " %" : "—";

// An API time (ISO 8601, UTC) shown in the browser's time zone; short: for table cells.
export function when(iso, short) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? String(iso) : d.toLocaleString([], {dateStyle: short ? "short" : "medium", timeStyle: "short"});
}
