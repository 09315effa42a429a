// 转载联动: the reprints a lower site's editors are asked to make (接受 / 拒绝), what each site owes
// with its due time, and the reprint clock per site and unit (按时、逾期、缺转). Times in Beijing time.
// Loaded after console.js (uses its `api`, `escapeHtml`, `$`, `showError`).
"use strict";

(() => {
  const OBLIGATION_STATE = { proposed: "待确认", requested: "转载中", accepted: "已接受，转载中",
    declined: "已拒绝", live: "已转载", retraction_requested: "随原文撤稿中", retracted: "已随原文撤稿" };
  const view = $("#reprints-view");

  const when = (at) => (at ? new Date(at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) : "—");

  const markup = `
    <h2>转载联动</h2>
    <h3>转载任务</h3>
    <table><thead><tr><th>原文</th><th>来源站点</th><th>转载站点</th><th>栏目</th><th>原文发布</th>
      <th>应转载时限</th><th>状态</th><th>操作</th></tr></thead><tbody id="reprint-rows"></tbody></table>
    <h3>转载时效统计</h3>
    <table><thead><tr><th>站点</th><th>主办单位</th><th>应转载</th><th>按时</th><th>逾期</th><th>缺转</th>
      <th>未到期</th><th>已拒绝</th></tr></thead><tbody id="reprint-report"></tbody></table>
    <p id="reprint-result" role="status"></p>`;

  function obligationRow(item) {
    const row = document.createElement("tr");
    const late = item.breached_at ? ' <mark class="block">已超时</mark>' : "";
    const actions = item.state === "proposed"
      ? '<button data-act="accept">接受</button> <button data-act="decline">拒绝</button>' : "";
    row.innerHTML = `<td><code>${escapeHtml(item.original_id)}</code></td><td>${escapeHtml(item.source_site)}</td>
      <td>${escapeHtml(item.unit || item.site)}</td><td>${escapeHtml(item.columns.join("、"))}</td>
      <td>${when(item.original_published_at)}</td><td>${when(item.due_at)}${late}</td>
      <td>${OBLIGATION_STATE[item.state] || escapeHtml(item.state)}</td><td>${actions}</td>`;
    row.querySelectorAll("button[data-act]").forEach((button) =>
      button.addEventListener("click", () => answer(item, button.dataset.act)));
    return row;
  }

  function reportRow(row) {
    return `<tr><td>${escapeHtml(row.site)}</td><td>${escapeHtml(row.unit)}</td><td>${row.due}</td>
      <td>${row.done_in_time}</td><td>${row.late}</td><td>${row.missing}</td><td>${row.pending}</td>
      <td>${row.declined}</td></tr>`;
  }

  async function load() {
    try {
      const page = await api("/api/v1/reprints?limit=100");
      $("#reprint-rows").innerHTML = "";
      for (const item of page.items) $("#reprint-rows").appendChild(obligationRow(item));
      if (!page.items.length) $("#reprint-rows").innerHTML = "<tr><td colspan=8>暂无转载任务</td></tr>";
      const report = await api("/api/v1/reprints/report");
      $("#reprint-report").innerHTML = report.rows.map(reportRow).join("")
        || "<tr><td colspan=8>暂无统计</td></tr>";
    } catch (error) { showError(error); }
  }

  async function answer(item, act) {
    const options = { method: "POST" };
    if (act === "decline") {
      const reason = prompt("拒绝转载的理由：") || "";
      if (!reason.trim()) return;
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify({ reason: reason.trim() });
    }
    try {
      await api(`/api/v1/reprints/${encodeURIComponent(item.id)}/${act}`, options);
      $("#reprint-result").textContent = act === "accept"
        ? `已接受转载：${item.original_id}，稿件已送入本站审核` : `已拒绝转载：${item.original_id}`;
      await load();
    } catch (error) { showError(error); }
  }

  function enter() {
    if (!view.dataset.ready) {
      view.innerHTML = markup;
      view.dataset.ready = "1";
    }
    load();
  }

  document.querySelectorAll('#tabs button[data-view="reprints-view"]').forEach((b) =>
    b.addEventListener("click", enter));
})();
