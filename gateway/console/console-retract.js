// 撤稿: a button on a published item of the library view (with the reason asked for), and the
// item's outlets — portal columns, app subscribers, WeChat and Weibo accounts — each with its
// publication and takedown: state, time and the platform's answer. Loaded after console.js.
"use strict";

(() => {
  STATUS.retracted = "已撤稿";
  const CHANNEL = { portal: "门户栏目", webhook: "应用订阅", wechat: "微信公众号", weibo: "微博" };
  const OUTLET_STATE = { publishing: "发布中", live: "已发布", not_published: "未发布",
    removing: "撤稿中", removed: "已撤下", never_received: "未收到，无需撤下",
    takedown_failed: "撤下失败" };
  const RETRACTABLE = ["published", "approved"];
  const panel = $("#retraction-panel");
  const shown = showContent;
  let refresh = null;

  const when = (at) => (at ? new Date(at).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai" }) : "—");

  function evidence(step) {
    if (!step) return "—";
    const answer = [step.status_code ? `HTTP ${step.status_code}` : "", step.error, step.response]
      .filter(Boolean).map(escapeHtml).join("<br>");
    return `${escapeHtml(step.state)} · ${when(step.at)}${answer ? `<br><small>${answer}</small>` : ""}`;
  }

  function outletRow(outlet) {
    const link = outlet.post_url
      ? `<a href="${escapeHtml(outlet.post_url)}" rel="noopener noreferrer" target="_blank">查看</a>` : "";
    return `<tr><td>${CHANNEL[outlet.channel] || escapeHtml(outlet.channel)}</td>
      <td>${escapeHtml(outlet.name)}</td><td>${OUTLET_STATE[outlet.state] || escapeHtml(outlet.state)}</td>
      <td>${evidence(outlet.publication)}</td><td>${evidence(outlet.takedown)}</td><td>${link}</td></tr>`;
  }

  async function showOutlets(id) {
    let view;
    try {
      view = await api(`/api/v1/deliveries/outlets/${encodeURIComponent(id)}`);
    } catch (error) {
      return "<p>尚未分发。</p>";  // never released on the caller's sites
    }
    const retraction = view.retraction ? `<p class="alert">已申请撤稿：${escapeHtml(view.retraction.reason)}
      （${escapeHtml(view.retraction.requested_by)}，${when(view.retraction.at)}）</p>` : "";
    return `${retraction}<table><thead><tr><th>渠道</th><th>名称</th><th>现状</th><th>发布</th>
      <th>撤稿（平台回应）</th><th>链接</th></tr></thead>
      <tbody>${view.outlets.map(outletRow).join("")}</tbody></table>`;
  }

  async function render(id) {
    const item = await api(`/api/v1/contents/${encodeURIComponent(id)}`);
    const button = RETRACTABLE.includes(item.status) ? '<button id="retract-button">撤稿</button>' : "";
    panel.innerHTML = `<h4>各渠道发布与撤稿</h4>${button}${await showOutlets(id)}`;
    panel.hidden = false;
    $("#retract-button")?.addEventListener("click", () => retract(id));
  }

  async function retract(id) {
    const reason = prompt("撤稿理由（2–500 字，将告知各渠道）：");
    if (reason === null) return;
    try {
      await api(`/api/v1/contents/${encodeURIComponent(id)}/retraction`, { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reason }) });
      await shown(id);
      await render(id);
      // the outlets answer one after another: look again a few times
      let left = 5;
      clearInterval(refresh);
      refresh = setInterval(() => {
        left -= 1;
        if (left <= 0) clearInterval(refresh);
        render(id).catch(showError);
      }, 3000);
    } catch (error) { showError(error); }
  }

  // console.js calls showContent by its global name: the detail, then this panel under it
  window.showContent = async (id) => {
    clearInterval(refresh);
    panel.hidden = true;
    await shown(id);
    try { await render(id); } catch (error) { showError(error); }
  };
})();
