// The trader's screen: status and filters on top, the live tape, and on the
// side the charts, a ticker's drill-down and the alert rules.

import { useCallback, useState, useSyncExternalStore } from "react";
import { type AlertRule, saveRules } from "../alerts";
import type { FeedModel } from "../feed";
import type { Filter } from "../filter";
import { saveFilter, toQuery } from "../persist";
import { Alerts } from "./Alerts";
import { CallPutOverTime, PremiumByTicker } from "./Charts";
import { Drilldown } from "./Drilldown";
import { Filters } from "./Filters";
import { SignIn } from "./SignIn";
import { StatusBar } from "./StatusBar";
import { Tape } from "./Tape";

interface Props {
  model: FeedModel;
  problems: string[];
  hasToken: boolean;
  onToken(token: string | undefined): void;
}

export function App({ model, problems, hasToken, onToken }: Props) {
  const version = useSyncExternalStore(
    (l) => model.subscribe(l),
    () => model.version,
  );
  const [ticker, setTicker] = useState<string>();
  const onTicker = useCallback((t: string) => setTicker(t), []);

  // Stable callbacks: the tape redraws every frame, the panels only when
  // their own inputs change.
  const setFilter = useCallback(
    (f: Filter) => {
      model.setFilter(f);
      saveFilter(localStorage, f);
      history.replaceState(null, "", `${location.pathname}?${toQuery(f)}`);
    },
    [model],
  );
  const setRules = useCallback(
    (rules: AlertRule[]) => {
      model.setRules(rules);
      saveRules(localStorage, rules);
    },
    [model],
  );
  const refused = model.connection.kind === "unauthorized" ? model.connection.reason : undefined;

  return (
    <div className="app">
      <header>
        <h1>liveflow</h1>
        <StatusBar model={model} />
        <SignIn refused={refused} hasToken={hasToken} onToken={onToken} />
      </header>
      {problems.length > 0 && (
        <div className="problems" role="alert">ignored in the link: {problems.join("; ")}</div>
      )}
      <Filters filter={model.filter} onChange={setFilter} />
      <main>
        <Tape history={model.history} version={version} onTicker={onTicker} />
        <aside>
          <PremiumByTicker agg={model.aggregates} onTicker={onTicker} />
          <CallPutOverTime agg={model.aggregates} />
          {ticker && <Drilldown ticker={ticker} history={model.history} onClose={() => setTicker(undefined)} />}
          <Alerts rules={model.rules} log={model.alerts.log} fired={model.alerts.fired} filter={model.filter} onChange={setRules} />
        </aside>
      </main>
    </div>
  );
}
