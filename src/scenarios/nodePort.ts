// cndjp4 hands-on part 1, step 4 (oracle-japan/cndjp4 k8snet/manifests/my-nginx-service-nodePort.yaml,
// MIT): the same pods exposed as a NodePort Service, port 8080 → targetPort 80, reached from a host
// outside the cluster. The hands-on let the API server pick the nodePort (its example: 30774);
// here it is written down so the Flow can name it.
import { defaultScenario } from './default.ts';

export const nodePortScenario = `${defaultScenario.replace(/---\n# podpath's own kind[\s\S]*$/, '')}---
apiVersion: v1
kind: Service
metadata:
  name: my-nginx-nodeport
  namespace: k8snet
spec:
  type: NodePort
  selector:
    run: my-nginx
  ports:
  - port: 8080
    targetPort: 80
    nodePort: 30774
---
# a client outside the cluster, through node-2's NodePort
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata:
  name: outside-to-nodeport
spec:
  from: external
  to: node-2:30774
`;
