// A test wallet injected into the page: announces itself by EIP-6963 and implements EIP-1193
// request(); every request goes to Python (page.expose_function), which signs with the test
// key and forwards the rest to the node. Events: window.__testWallet.emit(name, value).
(() => {
  const listeners = {};
  const provider = {
    isGridLedgerTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window.__gridledgerWalletRequest(method, JSON.stringify(params || [])));
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
  const info = {
    uuid: "5b3b4c1e-7f7e-4a52-9d38-6f9d0c0e7a11",
    name: "GridLedger Test Wallet",
    icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'%3E%3Crect width='1' height='1' fill='%23005a9c'/%3E%3C/svg%3E",
    rdns: "dev.gridledger.testwallet",
  };
  const announce = () =>
    window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
  window.__testWallet = {
    emit(name, value) {
      for (const listener of listeners[name] || []) listener(value);
    },
  };
})();
