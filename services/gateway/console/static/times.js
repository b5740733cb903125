// Times between the browser's inputs (its time zone) and the API (ISO 8601).
import {ApiError} from "./api.js";

// A datetime-local value (the browser's time zone) as ISO 8601 in UTC; empty gives null.
export function isoFromLocal(value, label) {
  if (!value) return null;
  const d = new Date(value);
  if (isNaN(d)) throw new ApiError(0, "bad_time", label + " is not a valid date and time");
  return d.toISOString();
}

// The browser's time zone, sent as tz= with every report so that its times are given in it.
export const TZ = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return ""; } })();
export const withTz = (url) => TZ ? url + (url.includes("?") ? "&" : "?") + "tz=" + encodeURIComponent(TZ) : url;

// ISO 8601 with the browser's offset, e.g. 2026-12-01T00:00:00+05:30.
function isoWithOffset(d) {
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  return String(d.getFullYear()).padStart(4, "0") + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
         "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
         (off < 0 ? "-" : "+") + pad(off / 60) + ":" + pad(off % 60);
}

// A date input's day (in the browser's time zone) as the date-time of its local midnight, or with
// next=true of the next day's — the exclusive end of a range that includes the day. Empty gives null.
function localDayStart(value, label, next) {
  if (!value) return null;
  const m = /^(\d{4,})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) throw new ApiError(0, "bad_date", label + " is not a valid date");
  const d = new Date(2000, 0, 1);
  d.setFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + (next ? 1 : 0));
  d.setHours(0, 0, 0, 0);
  return d;
}

// The from/to date inputs of a form as API date-times in params (the "to" day included).
export function setRange(params, f) {
  const from = localDayStart(f.from.value, "From", false), to = localDayStart(f.to.value, "To", true);
  if (from && to && to <= from) throw new ApiError(0, "bad_range", "the “to” day is before the “from” day");
  if (from) params.set("from", isoWithOffset(from));
  if (to) params.set("to", isoWithOffset(to));
}

// A date as the value of a datetime-local input.
export function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
         "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
}
