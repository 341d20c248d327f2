import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startCompareSync } from './state/compareSync.ts';
import { startEngineSync } from './state/engineSync.ts';
import { usePodpath } from './state/store.ts';
import { App } from './ui/App.tsx';
import { initI18n } from './ui/i18n.ts';
import './ui/styles.css';

initI18n(usePodpath.getState().language);
const { client } = startEngineSync();
startCompareSync(client);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);
