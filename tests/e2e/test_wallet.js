// Test wallets injected into the page: each announces itself by EIP-6963 and implements EIP-1193
// request(); every request goes to Python through the wallet's own exposed function (its
// `bridge`), which signs with that wallet's test key and forwards the rest to the node.
// window.__gridledgerTestWallets (set by an init script before this one) lists the wallets:
// [{uuid, name, rdns, bridge}]; without it, the one default wallet. An answer may carry the
// events the wallet emits (chainChanged after a switch), emitted before the request settles.
// Other events: window.__testWallets[rdns].emit(name, value); window.__testWallet is the first.
(() => {
  const ICON =
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'%3E%3Crect width='1' height='1' fill='%23005a9c'/%3E%3C/svg%3E";
  const DEFAULT = [
    {
      uuid: "5b3b4c1e-7f7e-4a52-9d38-6f9d0c0e7a11",
      name: "GridLedger Test Wallet",
      rdns: "dev.gridledger.testwallet",
      bridge: "__gridledgerWalletRequest",
    },
  ];
  const wallets = {};
  for (const config of window.__gridledgerTestWallets || DEFAULT) {
    const listeners = {};
    const emit = (name, value) => {
      for (const listener of listeners[name] || []) listener(value);
    };
    const provider = {
      isGridLedgerTestWallet: true,
      async request({ method, params }) {
        const answer = JSON.parse(await window[config.bridge](method, JSON.stringify(params || [])));
        for (const [name, value] of answer.events || []) emit(name, value);
        if (answer.error) {
          const error = new Error(answer.error.message);
          error.code = answer.error.code;
          error.data = answer.error.data;
          throw error;
        }
        return answer.result;
      },
      on(name, listener) {
        (listeners[name] ||= []).push(listener);
      },
      removeListener(name, listener) {
        listeners[name] = (listeners[name] || []).filter((l) => l !== listener);
      },
    };
    const info = Object.freeze({ uuid: config.uuid, name: config.name, icon: config.icon || ICON, rdns: config.rdns });
    const announce = () =>
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
    wallets[config.rdns] = { emit };
  }
  window.__testWallets = wallets;
  window.__testWallet = Object.values(wallets)[0];
})();
