// The custom React Flow node renderers. Each only draws its data; highlighting comes from `mark`.
// Memoised: toFlow's output keeps unchanged `data` objects (stableFlow.ts), so a node whose data
// did not change is not redrawn when React Flow re-renders its wrapper.
import { memo } from 'react';
import { Handle, Position } from '@xyflow/react';
import type { NodeProps, NodeTypes } from '@xyflow/react';
import { useTranslation } from 'react-i18next';
import type { Node } from '@xyflow/react';
import type { ExternalData, IfaceData, K8sNodeData, Mark, NetfilterData, NetworkData, PacketData, PodData, ServiceData, SidecarData } from './toFlow.ts';

const cls = (base: string, mark: Mark) => (mark ? `${base} is-${mark}` : base);

/** Top and bottom handles, usable as source and target, hidden: edges pick the side. */
function Handles() {
  return (
    <>
      <Handle type="source" id="ts" position={Position.Top} className="pp-handle" isConnectable={false} />
      <Handle type="target" id="tt" position={Position.Top} className="pp-handle" isConnectable={false} />
      <Handle type="source" id="bs" position={Position.Bottom} className="pp-handle" isConnectable={false} />
      <Handle type="target" id="bt" position={Position.Bottom} className="pp-handle" isConnectable={false} />
    </>
  );
}

function K8sNode({ data }: NodeProps<Node<K8sNodeData, 'k8snode'>>) {
  const { t } = useTranslation();
  const role = data.roles.includes('control-plane') ? 'control-plane' : 'worker';
  return (
    <div className={cls('pp-k8snode', data.mark)} data-testid={`k8snode-${data.name}`} aria-label={`Node ${data.name} ${data.ip}`}>
      <div className="pp-k8snode-header">
        <span className="pp-k8snode-name">{data.name}</span>
        <span className="pp-k8snode-ip">{data.ip}</span>
        <span className="pp-k8snode-sub">
          <span className="pp-k8snode-role">{t(`role.${role}`)}</span> · <span className="pp-k8snode-cidr">pods {data.podCIDR}</span>
        </span>
      </div>
    </div>
  );
}

function Iface({ data }: NodeProps<Node<IfaceData, 'iface'>>) {
  return (
    <div className={cls(`pp-iface pp-iface-${data.kind}`, data.mark)}>
      <Handles />
      <span className="pp-iface-name">{data.name}</span>
      {data.address ? <span className="pp-iface-addr">{data.address}</span> : null}
    </div>
  );
}

function Netfilter({ data }: NodeProps<Node<NetfilterData, 'netfilter'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls('pp-netfilter', data.mark)}>
      <Handles />
      <span className="pp-netfilter-title">{t('netfilter')}</span>
      <span className="pp-netfilter-sub">
        {data.mode === 'ipvs' && data.rules !== 'cilium' ? 'IPVS + iptables' : data.rules === 'cilium' ? 'iptables' : data.mode} ({t(`netfilterRules.${data.rules}`)}) · ip route
      </span>
    </div>
  );
}

function Pod({ data }: NodeProps<Node<PodData, 'pod'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls(`pp-pod pp-pod-net-${data.netSide}`, data.mark)} aria-label={`Pod ${data.name} ${data.ip}`}>
      <Handles />
      <span className="pp-pod-name" title={`${data.namespace}/${data.name}`}>{data.workload ?? data.name}</span>
      {data.workload ? <span className="pp-pod-suffix" title={`${data.namespace}/${data.name}`}>{data.name.slice(data.workload.length)}</span> : null}
      <span className="pp-pod-addr">
        <span className="pp-pod-ip">{data.ip}</span>
        {data.identity !== undefined ? <span className="pp-pod-identity">{t('identity', { n: data.identity })}</span> : null}
      </span>
    </div>
  );
}

function Sidecar({ data }: NodeProps<Node<SidecarData, 'sidecar'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls('pp-sidecar', data.mark)} aria-label={t('sidecarLabel', { pod: data.pod })} title={t('sidecarHint')}>
      <Handles />
      <span className="pp-sidecar-name">istio-proxy</span>
      <span className="pp-sidecar-sub">Envoy</span>
    </div>
  );
}

function Service({ data }: NodeProps<Node<ServiceData, 'service'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls('pp-service', data.mark)} aria-label={`Service ${data.name} ${data.clusterIP}`}>
      <Handles />
      <span className="pp-service-name">Service {data.namespace}/{data.name}</span>
      <span className="pp-service-ip">ClusterIP {data.clusterIP} · {data.ports}</span>
      <span className="pp-service-eps">{data.endpoints ? t('endpoints', { n: data.endpoints }) : t('noEndpoints')}</span>
    </div>
  );
}

function Network({ data }: NodeProps<Node<NetworkData, 'network'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls('pp-network', data.mark)}>
      {data.ports.map((p) => (
        <Handle
          key={p.id}
          type="target"
          id={`${p.id}:t`}
          position={p.side === 'top' ? Position.Top : Position.Bottom}
          style={{ left: p.x }}
          className="pp-handle"
          isConnectable={false}
        />
      ))}
      <Handle type="target" id="lt" position={Position.Left} className="pp-handle" isConnectable={false} />
      <span>{t('nodeNetwork', { cidr: data.cidr })}</span>
    </div>
  );
}

function External({ data }: NodeProps<Node<ExternalData, 'external'>>) {
  const { t } = useTranslation();
  return (
    <div className={cls('pp-external', data.mark)} aria-label={`${t(data.role === 'server' ? 'externalServer' : 'externalClient')} ${data.ip}`.trim()}>
      <Handle type="source" id="rs" position={Position.Right} className="pp-handle" isConnectable={false} />
      <span className="pp-external-name">{t(data.role === 'server' ? 'externalServer' : 'externalClient')}</span>
      {data.ip ? <span className="pp-external-ip">{data.ip}</span> : null}
    </div>
  );
}

function Packet({ data }: NodeProps<Node<PacketData, 'packet'>>) {
  return <div className={`pp-packet pp-packet-${data.direction}`} data-testid="packet" aria-hidden="true">{data.index + 1}</div>;
}

export const nodeTypes: NodeTypes = {
  k8snode: memo(K8sNode),
  iface: memo(Iface),
  netfilter: memo(Netfilter),
  pod: memo(Pod),
  sidecar: memo(Sidecar),
  service: memo(Service),
  network: memo(Network),
  external: memo(External),
  packet: memo(Packet),
};
