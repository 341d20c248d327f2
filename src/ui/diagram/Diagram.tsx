// The cluster diagram: React Flow over toFlow(snapshot, layout, trace, active hop), with unchanged
// elements shared across renders (stableFlow.ts) so React Flow redraws only what changed.
import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ids } from '../../engine/ids.ts';
import { endEditMeasure } from '../../state/engineSync.ts';
import { usePodpath } from '../../state/store.ts';
import { nodeTypes } from './nodeTypes.tsx';
import { createFlowSharer, type Flow } from './stableFlow.ts';
import { toFlow } from './toFlow.ts';

// Constant props: React Flow copies changed props into its store, which re-renders its subscribers.
const FIT_VIEW_OPTIONS = { padding: 0.04 };
const NO_FLOW: Flow = { nodes: [], edges: [] };

function FitOnLayout({ layoutKey }: { layoutKey: string }) {
  const { fitView } = useReactFlow();
  useEffect(() => {
    const id = requestAnimationFrame(() => void fitView({ ...FIT_VIEW_OPTIONS, duration: 0 }));
    return () => cancelAnimationFrame(id);
  }, [layoutKey, fitView]);
  return null;
}

function DiagramFlow() {
  const good = usePodpath((s) => s.good);
  const trace = usePodpath((s) => s.trace);
  const activeHop = usePodpath((s) => s.activeHop);
  const { t } = useTranslation();
  const [share] = useState(createFlowSharer);
  const flow = useMemo(
    () => share(good ? toFlow(good.snapshot.topology, good.layout, trace, activeHop) : NO_FLOW),
    [share, good, trace, activeHop],
  );
  // The outside client widens the drawing to the left: fit again when it appears or goes.
  const external = trace?.hops.some((h) => h.at === ids.external()) ?? false;
  const layoutKey = good ? `${good.layout.width}x${good.layout.height}${external ? '+ext' : ''}` : '';
  // The edit's new diagram and trace are on screen: close the bench's measure.
  const shownVersion = trace && good ? good.snapshot.version : undefined;
  useEffect(() => {
    if (shownVersion !== undefined) endEditMeasure(shownVersion);
  }, [shownVersion, trace]);
  return (
    <section className="pp-diagram" aria-label={t('diagram')}>
      <ReactFlow
        nodes={flow.nodes}
        edges={flow.edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={FIT_VIEW_OPTIONS}
        minZoom={0.1}
        maxZoom={2.5}
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable={false}
      >
        <Background gap={24} color="#e3e7ee" />
        <Controls showInteractive={false} position="bottom-right" />
        <FitOnLayout layoutKey={layoutKey} />
      </ReactFlow>
    </section>
  );
}

export default function Diagram() {
  return (
    <ReactFlowProvider>
      <DiagramFlow />
    </ReactFlowProvider>
  );
}
