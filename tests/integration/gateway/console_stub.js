// A stub DOM for running the console's scripts under Node: elements by selector, rows made with
// createElement, the buttons a row's markup declares (`data-act`) clickable, fetch answered by
// `answer(path, options)` and recorded, `prompt` answered from a list.
"use strict";
const fs = require("fs");
const vm = require("vm");

class Element {
  constructor(id, buttons) { this.id = id; this.innerHTML = ""; this.hidden = false; this.listeners = {};
    this.textContent = ""; this.value = ""; this.dataset = {}; this.children = []; this.buttons = buttons; }
  addEventListener(type, handler) { this.listeners[type] = handler; }
  querySelectorAll(selector) {
    if (selector !== "button[data-act]") return [];
    return [...this.innerHTML.matchAll(/data-act="(\w+)"/g)].map(([, act]) => {
      const button = new Element(`button-${act}`, this.buttons);
      button.dataset.act = act;
      this.buttons.push(button);
      return button;
    });
  }
  appendChild(child) { this.children.push(child); }
}

function consoleUnderTest({ consoleDir, scripts, tab, answer, prompts = [], formEntries = [] }) {
  const buttons = [];
  const elements = {};
  const element = (selector) => (elements[selector] ||= new Element(selector, buttons));
  const tabButton = new Element("tab", buttons);
  const calls = [];
  async function fetch(path, options = {}) {
    calls.push({ path, method: options.method || "GET", body: options.body });
    const body = answer(path, options);
    return { ok: true, status: 200, headers: { get: () => "application/json" }, json: async () => body };
  }
  class FormData {
    constructor() { this.entriesList = formEntries; }
    entries() { return this.entriesList[Symbol.iterator](); }
    getAll(key) { return this.entriesList.filter(([k]) => k === key).map(([, v]) => v); }
    [Symbol.iterator]() { return this.entriesList[Symbol.iterator](); }
  }
  const context = { console, fetch, setInterval: () => 1, clearInterval: () => {},
    sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} }, location: {},
    prompt: () => prompts.shift(), URLSearchParams, FormData, Date,
    document: { querySelector: element, querySelectorAll: (s) => (s.includes(tab) ? [tabButton] : []),
      createElement: () => new Element("row", buttons) } };
  context.window = context;
  vm.createContext(context);
  for (const name of ["console.js", ...scripts]) {
    vm.runInContext(fs.readFileSync(`${consoleDir}/${name}`, "utf8"), context, { filename: name });
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
  return { context, element, tabButton, buttons, calls, settle };
}

module.exports = { consoleUnderTest };
