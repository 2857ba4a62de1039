/** The proof-of-reserves page's entry: reads the node it is served by, renders, and wires "Verify my balance". */
import { ExchangeClient } from '@vex/client';
import { readVaultBalances, type VaultBalance } from './chain.js';
import { fetchOverview, type Overview } from './data.js';
import { describeError, element, fill } from './dom.js';
import { renderCharts, renderCommitteeAndRisk, renderCustody, renderFreshness, renderReserves } from './overview.js';
import { setUpVerification } from './verify-balance.js';
import './style.css';

function renderAll(overview: Overview, balances: VaultBalance[] | string | undefined): void {
  renderCustody(overview, balances);
  renderReserves(overview, balances);
}

async function start(): Promise<void> {
  const baseUrl = window.location.origin;
  const overview = await fetchOverview(new ExchangeClient({ baseUrl }));
  document.title = `${overview.genesis.exchangeName}: proof of reserves`;
  fill('exchange-name', overview.genesis.exchangeName);
  fill('node-url', baseUrl);
  fill(
    'genesis',
    `Genesis ${overview.genesis.genesisHash} · operator keys ${overview.genesis.operatorKeys.join(', ')}`,
  );
  renderFreshness(overview);
  renderAll(overview, undefined);
  renderCharts(overview);
  renderCommitteeAndRisk(overview);
  setUpVerification(baseUrl, overview);
  if (overview.custody !== undefined) {
    const balances = await readVaultBalances(overview.custody).catch((error: unknown) => describeError(error));
    renderAll(overview, balances);
  }
  document.body.dataset.state = 'ready';
}

start().catch((error: unknown) => {
  fill(
    'freshness',
    element(
      'p',
      { class: 'fail', 'data-testid': 'load-error' },
      `The page could not load the exchange’s figures: ${describeError(error)}`,
    ),
  );
  document.body.dataset.state = 'failed';
});
