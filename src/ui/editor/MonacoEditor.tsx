// The manifest editor: Monaco with YAML, markers from the engine's diagnostics. Loaded lazily so
// Monaco stays in its own chunk.
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import type { Diagnostic } from '../../engine/types.ts';
import { usePodpath } from '../../state/store.ts';
import { monaco } from './monaco.ts';

const MARKER_OWNER = 'podpath';

function toMarkers(model: monaco.editor.ITextModel, diagnostics: Diagnostic[]): monaco.editor.IMarkerData[] {
  const lines = model.getLineCount();
  return diagnostics.map((d) => {
    const line = Math.min(Math.max(d.line, 1), lines);
    const severity =
      d.severity === 'error'
        ? monaco.MarkerSeverity.Error
        : d.severity === 'warning'
          ? monaco.MarkerSeverity.Warning
          : monaco.MarkerSeverity.Info;
    const startColumn = Math.max(d.col, 1);
    return {
      severity,
      message: d.message,
      code: d.code,
      source: 'podpath',
      startLineNumber: line,
      startColumn,
      endLineNumber: line,
      endColumn: Math.max(model.getLineMaxColumn(line), startColumn + 1),
    };
  });
}

export default function MonacoEditor() {
  const host = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const { t } = useTranslation();

  useEffect(() => {
    if (!host.current) return;
    const editor = monaco.editor.create(host.current, {
      value: usePodpath.getState().text,
      language: 'yaml',
      theme: 'vs',
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 14,
      tabSize: 2,
      scrollBeyondLastLine: false,
      wordWrap: 'off',
      renderLineHighlight: 'line',
      ariaLabel: t('editor'),
    });
    editorRef.current = editor;
    const model = editor.getModel();
    const sub = editor.onDidChangeModelContent(() => usePodpath.getState().setText(editor.getValue()));

    const applyMarkers = (diagnostics: Diagnostic[]) => {
      if (model) monaco.editor.setModelMarkers(model, MARKER_OWNER, toMarkers(model, diagnostics));
    };
    applyMarkers(usePodpath.getState().diagnostics);
    const unsubscribe = usePodpath.subscribe((s, prev) => {
      if (s.diagnostics !== prev.diagnostics) applyMarkers(s.diagnostics);
      // Text set from outside the editor (a built-in scenario): replace the content as one
      // undoable edit. Typing comes back here with s.text equal to the editor's own value.
      if (model && s.text !== prev.text && s.text !== model.getValue()) {
        editor.pushUndoStop();
        editor.executeEdits('podpath-scenario', [{ range: model.getFullModelRange(), text: s.text }]);
        editor.pushUndoStop();
        editor.setPosition({ lineNumber: 1, column: 1 });
        editor.revealLine(1);
      }
      if (s.reveal && s.reveal !== prev.reveal) {
        editor.revealLineInCenter(s.reveal.line);
        editor.setPosition({ lineNumber: s.reveal.line, column: s.reveal.col });
        editor.focus();
      }
    });
    return () => {
      unsubscribe();
      sub.dispose();
      editor.dispose();
      editorRef.current = null;
    };
    // The editor is created once; its language label updates below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    editorRef.current?.updateOptions({ ariaLabel: t('editor') });
  }, [t]);

  return <div ref={host} className="pp-monaco" />;
}
