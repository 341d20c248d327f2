// Istio 0.x objects next to what replaced them, as YAML a person would write today: the
// VirtualService, DestinationRule and Gateway that mesh/legacy.ts added to the mesh, dumped with
// js-yaml, beside the object's own text. The UI shows the two side by side.
// Sources: Istio 0.8 upgrade notes (RouteRule → VirtualService + DestinationRule: the route's
// label sets become DestinationRule subsets); networking.istio.io/v1 is the stable API since
// Istio 1.22 (istio.io/latest/news/releases/1.22.x, "v1 APIs"); VirtualService reference
// (istio.io/latest/docs/reference/config/networking/virtual-service/: HTTPRouteDestination.weight
// may be left out when a route has one destination, which then receives all traffic).

import yaml from 'js-yaml';
import type { DestinationRuleInfo, Diagnostic, GatewayInfo, HttpMatchInfo, HttpRouteInfo, SourceRef, StringMatch, VirtualServiceInfo } from '../types.ts';
import type { LegacyApplied } from './legacy.ts';

/**
 * An Istio 0.x object (a config.istio.io/v1alpha2 RouteRule, an Ingress of class "istio") next to
 * what replaced it, as YAML a person would write today: the UI shows the two side by side.
 */
export interface LegacyTranslation {
  kind: 'RouteRule' | 'Ingress';
  namespace: string;
  name: string;
  /** Where the object starts: its document and first line, as in a diagnostic. */
  source: SourceRef;
  /** The lines it spans in the text, 1-based and inclusive. */
  lines: { from: number; to: number };
  /** The object as written. */
  original: string;
  /** The objects that replace it, as YAML documents separated by "---". */
  translated: string;
  /** Those objects, in the order of `translated`. */
  objects: { kind: 'VirtualService' | 'DestinationRule' | 'Gateway'; namespace: string; name: string }[];
  /** Fields of the original the translation does not carry (e.g. "spec.httpFault"). */
  untranslated: string[];
  /** The diagnostics on its document: the first one names its replacement. */
  diagnostics: Diagnostic[];
}

type Yaml = Record<string, unknown>;
type Made = LegacyTranslation['objects'][number];

const API_VERSION = 'networking.istio.io/v1';

/** The side-by-side view of every legacy object, in text order. */
export function legacyTranslations(text: string, applied: LegacyApplied, diagnostics: Diagnostic[]): LegacyTranslation[] {
  const lines = text.split(/\r?\n/);
  const out: LegacyTranslation[] = [];
  for (const { rule, virtualService, destinationRule } of applied.routeRules) {
    out.push(entry('RouteRule', rule.namespace, rule.name, rule.source, lines, diagnostics, [virtualServiceYaml(virtualService), destinationRuleYaml(destinationRule)], untranslatedRouteRule));
  }
  for (const { ingress, gateway, virtualServices } of applied.ingresses) {
    out.push(entry('Ingress', ingress.namespace, ingress.name, ingress.source, lines, diagnostics, [gatewayYaml(gateway), ...virtualServices.map(virtualServiceYaml)], untranslatedIngress));
  }
  return out.sort((a, b) => a.source.doc - b.source.doc || a.source.line - b.source.line);
}

function entry(
  kind: LegacyTranslation['kind'],
  namespace: string,
  name: string,
  source: SourceRef,
  lines: string[],
  diagnostics: Diagnostic[],
  objects: { made: Made; doc: Yaml }[],
  untranslated: (raw: Yaml) => string[],
): LegacyTranslation {
  const range = objectLines(lines, source.line);
  const original = lines.slice(range.from - 1, range.to).join('\n') + '\n';
  let raw: unknown;
  try {
    raw = yaml.load(original);
  } catch {
    raw = undefined; // the engine read it from the whole text; a slice that does not parse alone loses only the field list
  }
  return {
    kind,
    namespace,
    name,
    source,
    lines: range,
    original,
    translated: objects.map((o) => yaml.dump(o.doc, { lineWidth: -1, noRefs: true })).join('---\n'),
    objects: objects.map((o) => o.made),
    untranslated: isMap(raw) ? untranslated(raw) : [],
    diagnostics: diagnostics.filter((d) => d.doc === source.doc),
  };
}

/** A document marker line ("---" or "...", alone or before content) ends and starts documents (YAML 1.2 §9.1). */
const MARKER = /^(---|\.\.\.)(\s|$)/;

/** The lines of the document holding `line`, without its markers and surrounding blank lines. */
export function objectLines(lines: string[], line: number): { from: number; to: number } {
  let from = line;
  while (from > 1 && !MARKER.test(lines[from - 2] ?? '')) from--;
  let to = line;
  while (to < lines.length && !MARKER.test(lines[to] ?? '')) to++;
  while (from < line && (lines[from - 1] ?? '').trim() === '') from++;
  while (to > line && (lines[to - 1] ?? '').trim() === '') to--;
  return { from, to };
}

const metadata = (namespace: string, name: string): Yaml => (namespace === 'default' ? { name } : { name, namespace });

function virtualServiceYaml(vs: VirtualServiceInfo): { made: Made; doc: Yaml } {
  const spec: Yaml = { hosts: vs.hosts };
  if (vs.gateways.length) spec.gateways = vs.gateways;
  spec.http = vs.http.map(httpRouteYaml);
  return { made: { kind: 'VirtualService', namespace: vs.namespace, name: vs.name }, doc: { apiVersion: API_VERSION, kind: 'VirtualService', metadata: metadata(vs.namespace, vs.name), spec } };
}

function httpRouteYaml(h: HttpRouteInfo): Yaml {
  const o: Yaml = {};
  if (h.match.length) o.match = h.match.map(matchYaml);
  const single = h.route.length === 1 && h.route[0]!.weight === 100;
  o.route = h.route.map((d) => {
    const destination: Yaml = { host: d.host };
    if (d.subset) destination.subset = d.subset;
    if (d.port !== undefined) destination.port = { number: d.port };
    return single ? { destination } : { destination, weight: d.weight };
  });
  return o;
}

// The match fields a translation from Istio 0.x can carry: uri and headers (RouteRule's
// match.request.headers; an Ingress path).
function matchYaml(m: HttpMatchInfo): Yaml {
  const o: Yaml = {};
  if (m.uri) o.uri = stringMatch(m.uri);
  if (m.ignoreUriCase) o.ignoreUriCase = true;
  const headers = Object.entries(m.headers);
  if (headers.length) o.headers = Object.fromEntries(headers.map(([k, v]) => [k, v ? stringMatch(v) : {}]));
  return o;
}

const stringMatch = (s: StringMatch): Yaml => ({ ...s });

function destinationRuleYaml(dr: DestinationRuleInfo): { made: Made; doc: Yaml } {
  const spec: Yaml = { host: dr.host, subsets: dr.subsets.map((s) => ({ name: s.name, labels: s.labels })) };
  return { made: { kind: 'DestinationRule', namespace: dr.namespace, name: dr.name }, doc: { apiVersion: API_VERSION, kind: 'DestinationRule', metadata: metadata(dr.namespace, dr.name), spec } };
}

function gatewayYaml(gw: GatewayInfo): { made: Made; doc: Yaml } {
  const spec: Yaml = { selector: gw.selector, servers: gw.servers.map((s) => ({ port: { number: s.port, name: s.portName, protocol: s.protocol }, hosts: s.hosts })) };
  return { made: { kind: 'Gateway', namespace: gw.namespace, name: gw.name }, doc: { apiVersion: API_VERSION, kind: 'Gateway', metadata: metadata(gw.namespace, gw.name), spec } };
}

const isMap = (v: unknown): v is Yaml => typeof v === 'object' && v !== null && !Array.isArray(v);
const extraKeys = (o: unknown, known: string[], at: string) => (isMap(o) ? Object.keys(o).filter((k) => !known.includes(k)).map((k) => `${at}.${k}`) : []);

// What mesh/legacy.ts reads of a RouteRule: destination.name, precedence, match.request.headers,
// route[].labels / weight. The rest (httpFault, mirror, rewrite, httpReqTimeout, match.source, a
// route's own destination …) is not translated, and the view says so.
function untranslatedRouteRule(raw: Yaml): string[] {
  const spec = raw.spec;
  if (!isMap(spec)) return [];
  const match = spec.match;
  const routes = Array.isArray(spec.route) ? spec.route : [];
  return [
    ...extraKeys(spec, ['destination', 'precedence', 'match', 'route'], 'spec'),
    ...extraKeys(spec.destination, ['name'], 'spec.destination'),
    ...extraKeys(match, ['request'], 'spec.match'),
    ...extraKeys(isMap(match) ? match.request : undefined, ['headers'], 'spec.match.request'),
    ...routes.flatMap((r, i) => extraKeys(r, ['labels', 'weight'], `spec.route[${i}]`)),
  ];
}

// What mesh/legacy.ts reads of an Ingress: rules[].host and http.paths[] (path, backend).
function untranslatedIngress(raw: Yaml): string[] {
  const spec = raw.spec;
  if (!isMap(spec)) return [];
  return extraKeys(spec, ['rules', 'ingressClassName'], 'spec');
}
