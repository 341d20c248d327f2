// Kubernetes objects read from YAML documents: typed, with their source positions, and with a
// diagnostic for every problem instead of an exception.

import type { Diagnostic, Protocol, Severity, SourceRef } from '../types.ts';
import type { DiagnosticCode } from './diagnostics.ts';
import type { ParsedYaml } from './yaml.ts';

export type Obj = Record<string, unknown>;

export interface ObjectMeta {
  kind: string;
  apiVersion: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  raw: Obj;
  source: SourceRef;
}

/** Reads fields of one document and reports problems at the line they were written on. */
export class DocReader {
  constructor(
    private readonly parsed: ParsedYaml,
    readonly doc: number,
    private readonly out: Diagnostic[],
  ) {}

  at(obj: unknown, key?: string | number): SourceRef {
    const p = this.parsed.posOf(obj, key);
    return { doc: this.doc, line: p?.line ?? 1, col: p?.col ?? 1 };
  }

  report(code: DiagnosticCode, severity: Severity, message: string, obj: unknown, key?: string | number) {
    this.out.push({ code, severity, message, ...this.at(obj, key) });
  }

  map(parent: Obj, key: string): Obj | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.report('PP003', 'error', `"${key}" must be a mapping.`, parent, key);
      return undefined;
    }
    return v as Obj;
  }

  list(parent: Obj, key: string): unknown[] {
    const v = parent[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.report('PP003', 'error', `"${key}" must be a list.`, parent, key);
      return [];
    }
    return v;
  }

  str(parent: Obj, key: string): string | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    this.report('PP003', 'error', `"${key}" must be a string.`, parent, key);
    return undefined;
  }

  int(parent: Obj, key: string, min: number, max: number): number | undefined {
    const v = parent[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.report('PP013', 'error', `"${key}" must be an integer from ${min} to ${max} (found ${JSON.stringify(v)}).`, parent, key);
      return undefined;
    }
    return v;
  }

  /** A string map such as labels or a selector. */
  strings(parent: Obj | undefined, key: string): Record<string, string> {
    if (!parent) return {};
    const m = this.map(parent, key);
    const out: Record<string, string> = {};
    if (!m) return out;
    for (const [k, v] of Object.entries(m)) {
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else this.report('PP003', 'error', `Label "${k}" must have a string value.`, m, k);
    }
    return out;
  }

  protocol(parent: Obj, key = 'protocol'): Protocol {
    const p = this.str(parent, key) ?? 'TCP';
    if (p === 'TCP' || p === 'UDP' || p === 'SCTP') return p;
    this.report('PP013', 'error', `protocol must be TCP, UDP or SCTP (found "${p}").`, parent, key);
    return 'TCP';
  }
}

/** The kinds this version models, by kind → accepted apiVersions (first = current). */
export const knownKinds: Record<string, { current: string; removed?: string[] }> = {
  Namespace: { current: 'v1' },
  Node: { current: 'v1' },
  Pod: { current: 'v1' },
  Service: { current: 'v1' },
  Deployment: { current: 'apps/v1', removed: ['apps/v1beta1', 'apps/v1beta2', 'extensions/v1beta1'] },
  ReplicaSet: { current: 'apps/v1', removed: ['apps/v1beta2', 'extensions/v1beta1'] },
  StatefulSet: { current: 'apps/v1', removed: ['apps/v1beta1', 'apps/v1beta2'] },
  DaemonSet: { current: 'apps/v1', removed: ['apps/v1beta2', 'extensions/v1beta1'] },
  EndpointSlice: { current: 'discovery.k8s.io/v1', removed: ['discovery.k8s.io/v1beta1'] },
  Endpoints: { current: 'v1' },
  Flow: { current: 'podpath.dev/v1alpha1' },
  NetworkPolicy: { current: 'networking.k8s.io/v1', removed: ['extensions/v1beta1'] },
};

/** Read apiVersion, kind and metadata of one document, or report why it is not an object. */
export function readMeta(r: DocReader, value: unknown): ObjectMeta | undefined {
  if (value === null || value === undefined) return undefined; // an empty document
  if (typeof value !== 'object' || Array.isArray(value)) {
    r.report('PP002', 'error', 'Each YAML document must be a Kubernetes object (a mapping with apiVersion, kind and metadata).', value);
    return undefined;
  }
  const raw = value as Obj;
  const kind = r.str(raw, 'kind');
  const apiVersion = r.str(raw, 'apiVersion');
  if (!kind || !apiVersion) {
    r.report('PP002', 'error', `This document has no ${kind ? 'apiVersion' : 'kind'}; every Kubernetes object needs apiVersion and kind.`, raw);
    return undefined;
  }
  const metadata = r.map(raw, 'metadata');
  const name = metadata ? r.str(metadata, 'name') : undefined;
  if (!name) {
    r.report('PP003', 'error', `${kind} has no metadata.name.`, metadata ?? raw, metadata ? undefined : 'kind');
    return undefined;
  }
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    r.report('PP013', 'error', `metadata.name "${name}" is not a valid Kubernetes name (lower-case letters, digits, '-' and '.').`, metadata, 'name');
  }
  return {
    kind,
    apiVersion,
    name,
    namespace: (metadata && r.str(metadata, 'namespace')) || 'default',
    labels: r.strings(metadata, 'labels'),
    annotations: r.strings(metadata, 'annotations'),
    raw,
    source: r.at(raw),
  };
}
