// Runs the console's scripts against a stub DOM: the 定时发布 tab lists the schedules (times in
// Beijing time, titles escaped), 改期 PUTs the typed Beijing time with its offset, 取消定时
// PUTs a null publish_at; the submit form sends its times with the +08:00 offset.
"use strict";
const fs = require("fs");
const vm = require("vm");
const [consoleDir] = process.argv.slice(2);

const buttons = [];
class Element {
  constructor(id) { this.id = id; this.innerHTML = ""; this.hidden = false; this.listeners = {};
    this.textContent = ""; this.value = ""; this.dataset = {}; this.children = []; }
  addEventListener(type, handler) { this.listeners[type] = handler; }
  querySelectorAll(selector) {
    if (selector !== "button[data-act]") return [];
    return [...this.innerHTML.matchAll(/data-act="(\w+)"/g)].map(([, act]) => {
      const button = new Element(`button-${act}`);
      button.dataset.act = act;
      buttons.push(button);
      return button;
    });
  }
  appendChild(child) { this.children.push(child); }
}
const elements = {};
const element = (selector) => (elements[selector] ||= new Element(selector));
const tab = new Element("tab");
const calls = [];
const schedules = { next_cursor: null, items: [
  { id: "c1", title: "关于<春节>放假的通知", site: "province", status: "approved",
    publish_at: "2026-12-05T01:00:00Z", embargo_until: null, expire_at: "2027-01-05T01:00:00Z",
    revision: 1, state: "waiting" },
] };
async function fetch(path, options = {}) {
  calls.push({ path, method: options.method || "GET", body: options.body });
  const body = path.startsWith("/api/v1/schedules") ? schedules : path === "/api/v1/contents"
    ? { id: "c9", version: 1, status: "ingested" } : { ...schedules.items[0], revision: 2 };
  return { ok: true, status: 200, headers: { get: () => "application/json" }, json: async () => body };
}
const submitted = [["title", "通知"], ["kind", "notice"], ["columns", "notices"],
  ["publish_at", "2026-12-05T09:00"], ["expire_at", ""]];
class FormData {
  constructor() { this.entriesList = submitted; }
  entries() { return this.entriesList[Symbol.iterator](); }
  getAll(key) { return this.entriesList.filter(([k]) => k === key).map(([, v]) => v); }
  [Symbol.iterator]() { return this.entriesList[Symbol.iterator](); }
}
const typed = ["2026-12-06 10:30"];
const context = { console, fetch, calls, setInterval: () => 1, clearInterval: () => {},
  sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} }, location: {},
  prompt: () => typed.shift(), URLSearchParams, FormData, Date,
  document: { querySelector: element,
    querySelectorAll: (s) => (s.includes("schedules-view") ? [tab] : []),
    createElement: () => new Element("row") } };
context.window = context;
vm.createContext(context);
for (const name of ["console.js", "console-schedules.js"]) {
  vm.runInContext(fs.readFileSync(`${consoleDir}/${name}`, "utf8"), context, { filename: name });
}
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
(async () => {
  tab.listeners.click();
  await settle();
  const rows = element("#schedule-rows").children.map((r) => r.innerHTML);
  const [move, cancel] = buttons;
  await move.listeners.click();
  await settle();
  await cancel.listeners.click();
  await settle();
  await context.submitContent({ preventDefault() {}, target: { reset() {} } });
  console.log(JSON.stringify({ rows, calls, result: element("#schedule-result").textContent }));
})().catch((error) => { console.error(error); process.exit(1); });
