#!/usr/bin/env node
// A small command-line device (RFC 8628) for edge-oauth: it asks for a code, tells you where
// to enter it, and polls politely until you approve or deny, or the code expires.
//
//   node examples/device-cli/device.mjs <client_id> [scope] [base_url]
//
// The client is a public client with the device grant, e.g.
//   curl -s -X POST $BASE/admin/clients -H "Authorization: Bearer $ADMIN_TOKEN" \
//     -H 'Content-Type: application/json' \
//     -d '{"name":"My TV","client_type":"public","scopes":["read"],
//          "grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"]}'
// It needs nothing but Node 18 or later (global fetch).

const [clientId, scope = "", base = process.env.EDGE_OAUTH_URL ?? "http://127.0.0.1:8787"] = process.argv.slice(2);
if (!clientId) {
  console.error("usage: node examples/device-cli/device.mjs <client_id> [scope] [base_url]");
  process.exit(2);
}

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});

const start = await fetch(`${base}/device_authorization`, form({ client_id: clientId, ...(scope ? { scope } : {}) }));
const d = await start.json();
if (!start.ok) {
  console.error(`device_authorization failed: ${start.status} ${d.error}: ${d.error_description}`);
  process.exit(1);
}

console.log(`\nOn your phone or computer, open:\n\n    ${d.verification_uri}\n\nand enter the code:\n\n    ${d.user_code}\n`);
console.log(`(or open ${d.verification_uri_complete})\n`);

// Poll no faster than the server asks; slow down by 5 s whenever it says so (RFC 8628 §3.5).
let interval = d.interval ?? 5;
const deadline = Date.now() + d.expires_in * 1000;
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
while (Date.now() < deadline) {
  await sleep(interval);
  const r = await fetch(`${base}/token/`, form({ client_id: clientId, device_code: d.device_code, grant_type: "urn:ietf:params:oauth:grant-type:device_code" }));
  const body = await r.json();
  if (r.ok) {
    console.log("Approved. Tokens:");
    console.log(JSON.stringify(body, null, 2));
    process.exit(0);
  }
  switch (body.error) {
    case "authorization_pending":
      process.stdout.write(".");
      break;
    case "slow_down":
      interval += 5;
      process.stdout.write(`(slowing down to every ${interval} s)`);
      break;
    case "access_denied":
      console.log("\nDenied.");
      process.exit(1);
    case "expired_token":
      console.log("\nThe code expired. Run again.");
      process.exit(1);
    default:
      console.error(`\n${r.status} ${body.error}: ${body.error_description}`);
      process.exit(1);
  }
}
console.log("\nThe code expired. Run again.");
process.exit(1);
