// Contract reads and the wallet's transactions, with calldata from ethers' Interface and the
// ABI fragments the server takes from the committed artifacts (/web/abi.json).

import { Interface, Signature, TypedDataEncoder } from "./vendor/ethers.min.js";
import { request, wallet } from "./wallet.js";

let interfaces = null;

export async function abis() {
  if (!interfaces) {
    const response = await fetch("/web/abi.json");
    if (!response.ok) throw new Error(`the ABIs could not be loaded (HTTP ${response.status})`);
    const raw = await response.json();
    interfaces = Object.fromEntries(Object.entries(raw).map(([name, abi]) => [name, new Interface(abi)]));
  }
  return interfaces;
}

function revertMessage(iface, error) {
  let data = error && (error.data?.data ?? error.data);
  if (data && typeof data === "object") data = data.data;
  if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) return `the contract refused: ${parsed.name}(${parsed.args.map(String).join(", ")})`;
    } catch {
      /* not one of this contract's errors */
    }
  }
  return null;
}

/** eth_call through the wallet; the decoded outputs as an array. */
export async function read(contract, address, fn, args = []) {
  const iface = (await abis())[contract];
  const data = iface.encodeFunctionData(fn, args);
  const out = await request("eth_call", [{ to: address, data }, "latest"]);
  return iface.decodeFunctionResult(fn, out);
}

async function receipt(hash) {
  for (let waited = 0; waited < 180_000; waited += 1000) {
    const found = await request("eth_getTransactionReceipt", [hash]);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, waited < 5000 ? 250 : 1000));
  }
  throw new Error(`transaction ${hash} was not mined within 3 minutes`);
}

/** A transaction from the connected account, signed and sent by the wallet; waits for its
 *  receipt. A call that would revert is refused before the wallet is asked, with the reason. */
export async function send(contract, address, fn, args = []) {
  const iface = (await abis())[contract];
  const tx = { from: wallet.account, to: address, data: iface.encodeFunctionData(fn, args) };
  try {
    await request("eth_estimateGas", [tx]);
  } catch (error) {
    const reason = revertMessage(iface, error);
    if (reason) throw new Error(`${fn}: ${reason}`);
    throw error;
  }
  const hash = await request("eth_sendTransaction", [tx]);
  const mined = await receipt(hash);
  if (mined.status !== "0x1" && mined.status !== 1) throw new Error(`${fn} failed on-chain (${hash})`);
  return mined;
}

/** The newest block's time: the market's clock. */
export async function chainTime() {
  const block = await request("eth_getBlockByNumber", ["latest", false]);
  return Number.parseInt(block.timestamp, 16);
}

// ------------------------------------------------------------------ EIP-712
export const ORDER_TYPES = {
  Order: [
    { name: "trader", type: "address" },
    { name: "side", type: "uint8" },
    { name: "pairId", type: "uint16" },
    { name: "intervalStart", type: "uint64" },
    { name: "energyWh", type: "uint64" },
    { name: "limitPricePerKWh", type: "uint64" },
    { name: "gridNodeId", type: "uint64" },
    { name: "expiry", type: "uint64" },
    { name: "nonce", type: "uint64" },
  ],
};
export const CANCEL_TYPES = { CancelOrder: [{ name: "orderHash", type: "bytes32" }] };

const DOMAIN_TYPE = [
  { name: "name", type: "string" },
  { name: "version", type: "string" },
  { name: "chainId", type: "uint256" },
  { name: "verifyingContract", type: "address" },
];

export function marketDomain(chainId, market) {
  return { name: "GridLedger EnergyMarket", version: "1", chainId, verifyingContract: market };
}

/** eth_signTypedData_v4 of `message` as the single primary type of `types`. */
async function signTyped(domain, types, message) {
  const primaryType = Object.keys(types)[0];
  const typed = { types: { EIP712Domain: DOMAIN_TYPE, ...types }, domain, primaryType, message };
  const signature = await request("eth_signTypedData_v4", [wallet.account, JSON.stringify(typed)]);
  return { signature: Signature.from(signature), digest: TypedDataEncoder.hash(domain, types, message) };
}

/** The order signed in the wallet, as POST /orders takes it: r, EIP-2098 vs, the digest. Its
 *  integers travel as decimal text (a JSON number past 2^53 is not exact); a Number that is
 *  not a safe integer is refused rather than signed rounded. */
export async function signOrder(domain, order) {
  const exact = (name, value) => {
    if (typeof value === "bigint") return value.toString();
    if (typeof value !== "number") return value;
    if (!Number.isSafeInteger(value)) throw new Error(`the order's ${name} (${value}) is not an exact whole number`);
    return String(value);
  };
  const message = Object.fromEntries(Object.entries(order).map(([k, v]) => [k, exact(k, v)]));
  const { signature, digest } = await signTyped(domain, ORDER_TYPES, message);
  return { order: message, r: signature.r, vs: signature.yParityAndS, orderHash: digest };
}

/** The trader's CancelOrder signature: 65 bytes r, s, v (27/28). */
export async function signCancel(domain, orderHash) {
  const { signature } = await signTyped(domain, CANCEL_TYPES, { orderHash });
  return signature.serialized;
}
