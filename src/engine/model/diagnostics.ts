// The catalogue of manifest problems. Every Diagnostic the engine emits has one of these codes;
// the message text is built where the problem is found (with the names involved).

export const diagnosticCatalogue = {
  PP001: 'The YAML text could not be parsed.',
  PP002: 'A document is not a Kubernetes object (a mapping with apiVersion and kind).',
  PP003: 'A required field is missing or has the wrong type.',
  PP004: 'This kind is not modelled yet; the object is ignored.',
  PP005: 'This apiVersion was removed from Kubernetes; use the current one.',
  PP006: 'A Deployment\'s selector does not match its pod template labels (the API server rejects it).',
  PP007: 'A Service selector matches no pods, so the Service has no endpoints.',
  PP008: 'Two objects of the same kind have the same namespace and name.',
  PP009: 'The object refers to a namespace that is not declared (it is created implicitly here).',
  PP010: 'A Flow names a pod or destination that does not exist.',
  PP011: 'No node can take the pod (all nodes are tainted).',
  PP012: 'A Service port\'s targetPort names a port no backing container declares.',
  PP013: 'A value is out of range or malformed.',
  PP014: 'The pod network does not enforce this object (flannel and NetworkPolicy).',
} as const;

export type DiagnosticCode = keyof typeof diagnosticCatalogue;
