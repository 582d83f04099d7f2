// Carbon credits: what the participant holds by certificate, retiring with a beneficiary and a
// purpose (CarbonCredit.retireCertificateCredits through the wallet), and the retirements.

import * as api from "../api.js";
import { read, send } from "../contracts.js";
import { announce, describeError, field, figures, fill, fmt, h, table } from "../ui.js";

let panels = null;

async function drawHoldings(ctx) {
  const account = ctx.wallet.account;
  if (!account) {
    fill(panels.holdings, h("h2", { id: "h-held" }, "My credits"), h("p", {}, "Connect your wallet to see and retire your credits."));
    return [];
  }
  const summary = await api.getOrNull(`/participants/${account}`);
  const held = summary ? summary.carbon.held : [];
  const live = {};
  if (ctx.canTransact()) {
    await Promise.all(
      held.map(async (c) => {
        live[c.certificate_id] = (await read("CarbonCredit", ctx.deployment.carbon, "liveBalanceOf", [account, c.certificate_id]))[0];
      }),
    );
  }
  fill(
    panels.holdings,
    h("h2", { id: "h-held" }, "My credits"),
    figures([
      ["Held", fmt.grams(summary ? summary.carbon.held_co2e_grams : 0), "carbon-page-held"],
      ["Retired by me", fmt.grams(summary ? summary.carbon.retired_co2e_grams : 0), "carbon-page-retired"],
    ]),
    table(
      "Credits by certificate",
      ["Certificate", "Held (index)", "Live now (chain)"],
      held.map((c) => [`#${c.certificate_id}`, fmt.grams(c.co2e_grams), live[c.certificate_id] === undefined ? "–" : fmt.grams(live[c.certificate_id])]),
      "you hold no carbon certificates.",
    ),
  );
  const select = document.getElementById("retire-certificate");
  if (select) {
    const chosen = select.value;
    fill(
      select,
      held.map((c) =>
        h("option", { value: c.certificate_id, selected: c.certificate_id === chosen }, `#${c.certificate_id} — ${fmt.grams(live[c.certificate_id] ?? c.co2e_grams)}`),
      ),
    );
    document.getElementById("retire-submit").disabled = held.length === 0;
  }
  return held;
}

async function drawRetirements(ctx) {
  const mine = document.getElementById("retirements-mine");
  const params = { limit: 200 };
  if (mine && mine.checked && ctx.wallet.account) params.retiree = ctx.wallet.account;
  const { items, complete } = await api.all("/carbon/retirements", params, 5);
  fill(
    panels.retirements,
    table(
      "Retirements",
      ["Retirement", "Certificate", "Retired by", "Beneficiary", "Amount", "Purpose", "When"],
      items
        .slice()
        .reverse()
        .map((r) => [
          `#${r.retirement_id}`,
          `#${r.certificate_id}`,
          h("code", { title: r.retiree }, fmt.short(r.retiree)),
          h("code", { title: r.beneficiary }, fmt.short(r.beneficiary)),
          fmt.grams(r.co2e_grams),
          r.purpose,
          fmt.time(r.retired_at),
        ]),
      "no credits retired yet.",
    ),
    complete ? null : h("p", {}, "Showing the first 1,000 retirements."),
  );
}

function retireForm(ctx) {
  const certificate = h("select", { name: "certificate", required: true });
  const amount = h("input", { type: "number", min: "1", step: "1", name: "amount", required: true });
  const beneficiary = h("input", { type: "text", name: "beneficiary", required: true, spellcheck: "false", autocomplete: "off", value: ctx.wallet.account || "", pattern: "0x[0-9a-fA-F]{40}" });
  const purpose = h("input", { type: "text", name: "purpose", required: true, maxlength: "200" });
  return h(
    "form",
    {
      id: "retire-form",
      "aria-labelledby": "h-retire",
      onsubmit: async (event) => {
        event.preventDefault();
        if (!ctx.canTransact()) {
          announce("Connect your wallet on the market's chain first.", "error");
          return;
        }
        const button = document.getElementById("retire-submit");
        button.disabled = true;
        try {
          const grams = BigInt(amount.value);
          if (grams <= 0n) throw new Error("retire at least 1 g");
          if (!/^0x[0-9a-fA-F]{40}$/.test(beneficiary.value.trim())) throw new Error("the beneficiary is an address: 0x and 40 hex digits");
          announce("Confirm the retirement in your wallet…");
          await send("CarbonCredit", ctx.deployment.carbon, "retireCertificateCredits", [
            BigInt(certificate.value),
            grams,
            beneficiary.value.trim(),
            purpose.value.trim(),
          ]);
          announce(`Retired ${fmt.grams(grams)} of certificate #${certificate.value} for ${beneficiary.value.trim()}.`, "ok");
          await drawHoldings(ctx);
        } catch (error) {
          announce(`The credits were not retired. ${describeError(error)}`, "error");
        } finally {
          button.disabled = false;
        }
      },
    },
    h("h2", { id: "h-retire" }, "Retire credits"),
    field("retire-certificate", "Certificate", certificate),
    field("retire-amount", "Amount (g CO₂e)", amount),
    field("retire-beneficiary", "Beneficiary address", beneficiary, "Who the retirement is claimed for."),
    field("retire-purpose", "Purpose", purpose, "Recorded on-chain, for example “2026 household footprint”."),
    h("button", { type: "submit", id: "retire-submit" }, "Retire credits"),
  );
}

export default {
  title: "Carbon credits",
  async render(container, ctx) {
    panels = {
      holdings: h("section", { "aria-labelledby": "h-held" }),
      retirements: h("div", {}),
    };
    const mine = h("input", { type: "checkbox", id: "retirements-mine", onchange: () => drawRetirements(ctx).catch((e) => announce(describeError(e), "error")) });
    container.append(
      h("div", { class: "columns" }, panels.holdings, ctx.wallet.account ? retireForm(ctx) : null),
      h(
        "section",
        { "aria-labelledby": "h-retirements" },
        h("h2", { id: "h-retirements" }, "Retirements"),
        ctx.wallet.account ? h("div", { class: "check" }, mine, h("label", { for: "retirements-mine" }, "Only mine")) : null,
        panels.retirements,
      ),
    );
    await drawHoldings(ctx);
    await drawRetirements(ctx);
  },
  async refresh(ctx) {
    if (!panels || !panels.holdings.isConnected) return;
    await drawHoldings(ctx);
    await drawRetirements(ctx);
  },
};
