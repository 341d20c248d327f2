// Monaco, bundled locally: the editor API, YAML highlighting (Monarch grammar) and the editor
// worker built by Vite. No CDN, no network request at run time.
import * as monaco from 'monaco-editor/editor/editor.api';
import 'monaco-editor/languages/definitions/yaml/register';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';

self.MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

export { monaco };
