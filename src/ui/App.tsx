// The layout shell: header, editor on the left, diagram and inspector on the right.
import Diagram from './diagram/Diagram.tsx';
import { useTranslation } from 'react-i18next';
import { useCompare } from '../state/compare.ts';
import type { EngineClient } from '../worker/client.ts';
import { EditorPane } from './editor/EditorPane.tsx';
import { Inspector } from './inspector/Inspector.tsx';
import { LanguageSwitch } from './LanguageSwitch.tsx';
import { ScenarioPicker } from './ScenarioPicker.tsx';
import { CniPicker } from './CniPicker.tsx';
import { DiagnosticsPanel } from './panels/DiagnosticsPanel.tsx';
import { IptablesPanel } from './panels/IptablesPanel.tsx';
import { EnvoyPanel } from './panels/EnvoyPanel.tsx';
import { LegacyPanel } from './panels/LegacyPanel.tsx';
import { RequestsPanel } from './panels/RequestsPanel.tsx';
import { StatusBar } from './panels/StatusBar.tsx';


export function App({ client }: { client: EngineClient }) {
  const { t } = useTranslation();
  // Two hop lists side by side need more height than one: the diagram gives some up meanwhile.
  const comparing = useCompare((s) => s.open);
  return (
    <div className="pp-app">
      <header className="pp-appbar">
        <h1>podpath</h1>
        <span className="pp-tagline">{t('tagline')}</span>
        <StatusBar />
        <ScenarioPicker />
        <CniPicker />
        <LanguageSwitch />
      </header>
      <main className="pp-main">
        <div className="pp-left">
          <EditorPane />
          <DiagnosticsPanel />
          <LegacyPanel />
          <RequestsPanel />
          <IptablesPanel client={client} />
          <EnvoyPanel client={client} />
        </div>
        <div className={`pp-right${comparing ? ' is-comparing' : ''}`}>

          <Diagram />

          <Inspector />
        </div>
      </main>
    </div>
  );
}
