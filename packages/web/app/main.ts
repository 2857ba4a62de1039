/** The proof-of-reserves page's entry: reads the node it is served by, renders, and wires "Verify my balance". */
import { ExchangeClient } from '@vex/client';
import { readVaultState } from './chain.js';
import { fetchOverview, type Overview } from './data.js';
import { describeError, element, fill } from './dom.js';
import {
  renderCharts,
  renderCommitteeAndRisk,
  renderCustody,
  renderFreshness,
  renderReserves,
  type ChainReading,
} from './overview.js';
import { setUpVerification } from './verify-balance.js';
import './style.css';

/** The sections that depend on the chain, drawn before and again after the vault is read. */
function renderWithChain(overview: Overview, chain: ChainReading): void {
  renderCustody(overview, chain);
  renderReserves(overview, chain);
  renderCommitteeAndRisk(overview, chain);
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
  renderWithChain(overview, undefined);
  renderCharts(overview);
  setUpVerification(baseUrl, overview);
  if (overview.custody !== undefined) {
    const chain = await readVaultState(overview.custody).catch((error: unknown) => describeError(error));
    renderWithChain(overview, chain);
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
