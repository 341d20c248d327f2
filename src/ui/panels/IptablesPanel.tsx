// A node's iptables-save text, as the engine generates it. Asked of the engine only while the
// panel is open: at 50 Services the text is tens of kilobytes per node, and fetching it after
// every edit for a closed panel only kept the worker and the main thread busy.
// The selected hop's rule walk is shown on the text: matched rules marked, tested ones shaded.
// Selecting a hop on a node switches the open panel to that node (another can still be picked).
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RuleStep } from '../../engine/types.ts';
import { usePodpath } from '../../state/store.ts';
import type { EngineClient } from '../../worker/client.ts';
import { RuleText } from './RuleText.tsx';

interface TextProps {
  client: EngineClient;
  /** The node picked in the select ('' = the first node); kept by the panel across close/open. */
  node: string;
  setNode: (node: string) => void;
}

const NO_RULES: RuleStep[] = [];

function IptablesText({ client, node, setNode }: TextProps) {
  const { t } = useTranslation();
  const nodes = usePodpath((s) => s.good?.snapshot.topology.nodes);
  const goodVersion = usePodpath((s) => s.good?.snapshot.version);
  const hop = usePodpath((s) => s.trace?.hops[s.activeHop]);
  const [text, setText] = useState('');
  const current = node || nodes?.[0]?.name || '';

  useEffect(() => {
    if (!current) return;
    let live = true;
    void client.iptablesSave(current).then((r) => {
      if (live) setText(r.ok ? r.value : r.error);
    });
    return () => {
      live = false;
    };
  }, [client, current, goodVersion]);

  const rules = hop && hop.node === current ? (hop.mechanism.rules ?? NO_RULES) : NO_RULES;
  return (
    <>
      <label>
        {t('node')}{' '}
        <select value={current} onChange={(e) => setNode(e.target.value)}>
          {(nodes ?? []).map((n) => (
            <option key={n.name} value={n.name}>
              {n.name}
            </option>
          ))}
        </select>
      </label>
      <RuleText text={text} rules={rules} label={`${t('iptables')} ${current}`} />
    </>
  );
}

export function IptablesPanel({ client }: { client: EngineClient }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [node, setNode] = useState('');
  // Follow the selected hop's node while the panel is open: switch once per newly selected hop
  // (flow, index, node), so a node picked by hand stays until another hop is selected.
  const hopNode = usePodpath((s) => s.trace?.hops[s.activeHop]?.node);
  const hopKey = usePodpath((s) => (s.trace?.hops[s.activeHop]?.node ? `${s.trace.flow.name}#${s.activeHop}#${s.trace.hops[s.activeHop]!.node}` : null));
  const [followed, setFollowed] = useState<string | null>(null);
  if (open && hopKey !== followed) {
    setFollowed(hopKey);
    if (hopNode) setNode(hopNode);
  }
  return (
    <details className="pp-iptables" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>{t('iptables')}</summary>
      {open ? <IptablesText client={client} node={node} setNode={setNode} /> : null}
    </details>
  );
}
