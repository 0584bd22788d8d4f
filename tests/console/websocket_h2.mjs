// A WebSocket from a real browser (Debian's chromium, driven by
// playwright-core) to an app behind wok up's HTTPS port: the page comes
// over HTTP/2, and the WebSocket opens as a stream of that connection
// (RFC 8441), which the app sees as an HTTP/1.1 upgrade whose header names
// are HTTP/2's (lowercase). Prints what it saw as JSON; run by
// tests/integration/test_tls.py.
import { chromium } from 'playwright-core';

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const response = await page.goto(process.env.SITE_URL);
  const seen = await page.evaluate(async () => {
    const protocol = performance.getEntriesByType('navigation')[0].nextHopProtocol;
    const ws = new WebSocket(location.origin.replace('https:', 'wss:') + '/echo');
    const messages = [];
    await new Promise((resolve, reject) => {
      ws.onmessage = (e) => {
        messages.push(e.data);
        if (messages.length === 1) ws.send('hello over h2');
        else resolve();
      };
      ws.onerror = () => reject(new Error('WebSocket error after ' + JSON.stringify(messages)));
      setTimeout(() => reject(new Error('no answer after ' + JSON.stringify(messages))), 10000);
    });
    ws.close();
    return { protocol, messages };
  });
  console.log(JSON.stringify({ status: response.status(), ...seen }));
} finally {
  await browser.close();
}
