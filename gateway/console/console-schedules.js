// 定时发布: what is to go out or come down at a set moment (the library's /api/v1/schedules),
// with 改期 and 取消定时 for the editors. Times are shown and entered in Beijing time.
// Loaded after console.js (uses its `api`, `escapeHtml`, `$`, `showError`, `shanghaiMoment`).
"use strict";

(() => {
  const SCHEDULE_STATE = { waiting: "等待中", published: "已发布", expired: "已下线",
    retracted: "已撤稿", none: "无定时" };
  const view = $("#schedules-view");
  let cursor = null;

  const when = (at) => (at ? new Date(at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) : "—");

  const markup = `
    <h2>定时发布</h2>
    <table><thead><tr><th>标题</th><th>站点</th><th>定时发布</th><th>禁发至</th><th>到期下线</th>
      <th>状态</th><th>操作</th></tr></thead><tbody id="schedule-rows"></tbody></table>
    <button id="schedule-more" hidden>更多</button>
    <p id="schedule-result" role="status"></p>`;

  function scheduleRow(item) {
    const row = document.createElement("tr");
    const open = item.state === "waiting" && item.status !== "published";
    const actions = open ? '<button data-act="move">改期</button> <button data-act="cancel">取消定时</button>' : "";
    row.innerHTML = `<td>${escapeHtml(item.title)}</td><td>${escapeHtml(item.site)}</td>
      <td>${when(item.publish_at)}</td><td>${when(item.embargo_until)}</td><td>${when(item.expire_at)}</td>
      <td>${SCHEDULE_STATE[item.state] || escapeHtml(item.state)}</td><td>${actions}</td>`;
    row.querySelectorAll("button[data-act]").forEach((button) =>
      button.addEventListener("click", () => change(item, button.dataset.act)));
    return row;
  }

  async function load(reset) {
    if (reset) { cursor = null; $("#schedule-rows").innerHTML = ""; }
    try {
      const page = await api(`/api/v1/schedules${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
      for (const item of page.items) $("#schedule-rows").appendChild(scheduleRow(item));
      if (reset && !page.items.length) $("#schedule-rows").innerHTML = "<tr><td colspan=7>暂无定时稿件</td></tr>";
      cursor = page.next_cursor;
      $("#schedule-more").hidden = !cursor;
    } catch (error) { showError(error); }
  }

  async function change(item, act) {
    let publishAt = null;
    if (act === "move") {
      const typed = prompt(`“${item.title}”新的发布时间（北京时间，如 2026-12-05 09:00）：`) || "";
      if (!typed.trim()) return;
      publishAt = shanghaiMoment(typed.trim().replace(" ", "T"));
    }
    const body = { publish_at: publishAt, embargo_until: item.embargo_until, expire_at: item.expire_at };
    try {
      await api(`/api/v1/contents/${encodeURIComponent(item.id)}/schedule`, { method: "PUT",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      $("#schedule-result").textContent = act === "move"
        ? `已改期：${item.title}（${when(publishAt)}）` : `已取消定时：${item.title}，审核通过后即发布`;
      await load(true);
    } catch (error) { showError(error); }
  }

  function enter() {
    if (!view.dataset.ready) {
      view.innerHTML = markup;
      view.dataset.ready = "1";
      $("#schedule-more").addEventListener("click", () => load(false));
    }
    load(true);
  }

  document.querySelectorAll('#tabs button[data-view="schedules-view"]').forEach((b) =>
    b.addEventListener("click", enter));
})();
