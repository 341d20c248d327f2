// The cluster diagram: React Flow over toFlow(snapshot, layout, trace, active hop).
import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { usePodpath } from '../../state/store.ts';
import { nodeTypes } from './nodeTypes.tsx';
import { toFlow } from './toFlow.ts';

function FitOnLayout({ layoutKey }: { layoutKey: string }) {
  const { fitView } = useReactFlow();
  useEffect(() => {
    const id = requestAnimationFrame(() => void fitView({ padding: 0.04, duration: 0 }));
    return () => cancelAnimationFrame(id);
  }, [layoutKey, fitView]);
  return null;
}

function DiagramFlow() {
  const good = usePodpath((s) => s.good);
  const trace = usePodpath((s) => s.trace);
  const activeHop = usePodpath((s) => s.activeHop);
  const { t } = useTranslation();
  const flow = useMemo(
    () => (good ? toFlow(good.snapshot.topology, good.layout, trace, activeHop) : { nodes: [], edges: [] }),
    [good, trace, activeHop],
  );
  const layoutKey = good ? `${good.layout.width}x${good.layout.height}` : '';
  return (
    <section className="pp-diagram" aria-label={t('diagram')}>
      <ReactFlow
        nodes={flow.nodes}
        edges={flow.edges}
        nodeTypes={nodeTypes}
        fitView
        fitViewOptions={{ padding: 0.04 }}
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
