// The participant's wallet: EIP-6963 discovery (with a chooser when several announce), the
// legacy window.ethereum as fallback, EIP-1193 requests and events, and the chain check.

const announced = new Map(); // uuid -> { info, provider }
const listeners = new Set();

export const wallet = {
  provider: null,
  info: null,
  account: null,
  chainId: null, // number
  expectedChainId: null, // from /api/v1/status
};

function notify() {
  for (const listener of listeners) listener(wallet);
}

/** Call `listener(wallet)` whenever the wallets, the account or the chain change. */
export function onWalletChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

window.addEventListener("eip6963:announceProvider", (event) => {
  const detail = event.detail;
  if (!detail || !detail.info || !detail.provider || !detail.info.uuid) return;
  announced.set(detail.info.uuid, { info: detail.info, provider: detail.provider });
  notify();
});

/** Ask every EIP-6963 wallet to announce itself. */
export function discover() {
  window.dispatchEvent(new Event("eip6963:requestProvider"));
}

/** The wallets known: the EIP-6963 announcements, else an injected window.ethereum. */
export function availableWallets() {
  const list = [...announced.values()];
  if (!list.length && window.ethereum) {
    list.push({
      info: { uuid: "window.ethereum", name: "Browser wallet", icon: "", rdns: "window.ethereum" },
      provider: window.ethereum,
    });
  }
  return list;
}

export class WalletError extends Error {
  constructor(message, code) {
    super(message);
    this.name = "WalletError";
    this.code = code;
  }
}

/** An EIP-1193 request to the connected wallet. */
export async function request(method, params = []) {
  if (!wallet.provider) throw new WalletError("Connect a wallet first.", 4100);
  return wallet.provider.request({ method, params });
}

function onAccounts(accounts) {
  wallet.account = accounts && accounts.length ? accounts[0].toLowerCase() : null;
  notify();
}

function onChain(chainIdHex) {
  wallet.chainId = Number.parseInt(chainIdHex, 16);
  notify();
}

let subscribed = null;

/** Connect the wallet chosen by uuid (eth_requestAccounts), and follow its events. */
export async function connect(uuid) {
  const chosen = availableWallets().find((w) => w.info.uuid === uuid);
  if (!chosen) throw new WalletError("That wallet is no longer available.", 4900);
  if (subscribed && subscribed !== chosen.provider && subscribed.removeListener) {
    subscribed.removeListener("accountsChanged", onAccounts);
    subscribed.removeListener("chainChanged", onChain);
  }
  wallet.provider = chosen.provider;
  wallet.info = chosen.info;
  const accounts = await request("eth_requestAccounts");
  if (chosen.provider.on && subscribed !== chosen.provider) {
    chosen.provider.on("accountsChanged", onAccounts);
    chosen.provider.on("chainChanged", onChain);
    subscribed = chosen.provider;
  }
  wallet.account = accounts && accounts.length ? accounts[0].toLowerCase() : null;
  wallet.chainId = Number.parseInt(await request("eth_chainId"), 16);
  notify();
  return wallet.account;
}

export function disconnect() {
  wallet.account = null;
  wallet.provider = null;
  wallet.info = null;
  wallet.chainId = null;
  notify();
}

export function onRightChain() {
  return wallet.account && wallet.expectedChainId !== null && wallet.chainId === wallet.expectedChainId;
}

/** Switch the wallet to the indexed chain (EIP-3326); if it does not know the chain (4902), add
 *  it (EIP-3085) with the node the API names, then switch to it. */
export async function switchChain(rpcUrl) {
  const expected = wallet.expectedChainId;
  const chainId = `0x${expected.toString(16)}`;
  try {
    await request("wallet_switchEthereumChain", [{ chainId }]);
  } catch (error) {
    const unknown = error && (error.code === 4902 || (error.data && error.data.originalError && error.data.originalError.code === 4902));
    if (!unknown) throw error;
    if (!rpcUrl) {
      throw new WalletError(
        `Your wallet does not know chain ${expected}. Add it in the wallet with the RPC address your operator gives, then switch.`,
        4902,
      );
    }
    await request("wallet_addEthereumChain", [
      {
        chainId,
        chainName: `GridLedger chain ${expected}`,
        nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
        rpcUrls: [rpcUrl],
      },
    ]);
    // Adding need not switch (EIP-3085 leaves it to the wallet): ask for the switch again.
    await request("wallet_switchEthereumChain", [{ chainId }]);
  }
  wallet.chainId = Number.parseInt(await request("eth_chainId"), 16);
  notify();
  if (wallet.chainId !== expected) {
    throw new WalletError(`Your wallet is still on chain ${wallet.chainId}; switch it to chain ${expected}.`, 4901);
  }
}
