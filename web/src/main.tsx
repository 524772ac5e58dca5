// Start-up: restore the view from the URL or storage, connect to the edge that
// served the page, and draw.

import { createRoot } from "react-dom/client";
import { loadRules } from "./alerts";
import { FeedClient } from "./client";
import { FeedModel } from "./feed";
import { desktopNotify } from "./notifier";
import { restoreFilter, saveFilter, toQuery } from "./persist";
import { App } from "./ui/App";
import "./ui/styles.css";

const TOKEN_KEY = "liveflow.token";

const params = new URLSearchParams(location.search);
const { filter, problems } = restoreFilter(params, localStorage);
saveFilter(localStorage, filter);
history.replaceState(null, "", `${location.pathname}?${toQuery(filter)}`);

const model = new FeedModel(filter, { notify: desktopNotify });
model.setRules(loadRules(localStorage));

const wsURL = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/ws`;
let token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
const client = new FeedClient({ url: wsURL, token }, model);
model.attach(client);
client.start();

const root = createRoot(document.getElementById("root")!);
const render = () =>
  root.render(
    <App
      model={model}
      problems={problems}
      hasToken={token !== undefined}
      onToken={(t) => {
        token = t;
        if (t) sessionStorage.setItem(TOKEN_KEY, t);
        else sessionStorage.removeItem(TOKEN_KEY);
        client.setToken(t);
        render();
      }}
    />,
  );
render();

// A handle for debugging from the console and for the browser tests, which
// read the whole tape (the DOM holds only the rows in view).
declare global {
  interface Window {
    __liveflow: { model: FeedModel; client: FeedClient };
  }
}
window.__liveflow = { model, client };
