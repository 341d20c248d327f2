import { defaultScenario } from '../src/scenarios/default.ts';

/** The default scenario on a 10-node cluster (v1 Node objects), with more replicas. */
export function tenNodeScenario(): string {
  const nodes = Array.from({ length: 10 }, (_, i) => {
    const n = i + 1;
    const cp = n === 1;
    return `apiVersion: v1
kind: Node
metadata:
  name: node-${n}
  labels:
    kubernetes.io/hostname: node-${n}${cp ? '\n    node-role.kubernetes.io/control-plane: ""' : ''}
spec:
  podCIDR: 10.244.${i}.0/24${cp ? '\n  taints:\n  - key: node-role.kubernetes.io/control-plane\n    effect: NoSchedule' : ''}
status:
  addresses:
  - type: InternalIP
    address: 192.168.1.${10 + n}
`;
  });
  return `${nodes.join('---\n')}---\n${defaultScenario.replace('replicas: 2', 'replicas: 12')}`;
}
