// How values read on screen.

/** Whether a time is set: the backend writes "not set" as Go's zero time, "0001-01-01T00:00:00Z". */
export const isSet = (time) => typeof time === "string" && time !== "" && !time.startsWith("0001-01-01");

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
const dateAndMinutes = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** A timestamp in the viewer's locale, or "-" when unset. */
export function formatTime(time) {
  if (!isSet(time)) return "-";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : dateTime.format(date);
}

const dayPart = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const clockPart = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

/** [date, clock] for cells that stack them on two lines; null when unset. */
export function timeParts(time) {
  if (!isSet(time)) return null;
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? [time, ""] : [dayPart.format(date), clockPart.format(date)];
}

export function formatShowTime(time) {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time ?? "") : dateAndMinutes.format(date);
}

export const formatPrice = (amount, currency) => `${amount} ${currency}`;
