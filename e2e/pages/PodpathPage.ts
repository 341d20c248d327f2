// What a person does with podpath, by role and accessible name.
import { expect } from '@playwright/test';
import type { Locator, Page } from '@playwright/test';

export class PodpathPage {
  readonly editor: Locator;
  readonly diagram: Locator;
  readonly hops: Locator;
  readonly diagnostics: Locator;
  readonly status: Locator;

  constructor(readonly page: Page) {
    this.editor = page.getByRole('region', { name: 'Manifest editor' });
    this.diagram = page.getByRole('region', { name: 'Cluster diagram' });
    this.hops = page.getByRole('listbox', { name: 'Hops' });
    this.diagnostics = page.getByRole('region', { name: 'Diagnostics' });
    this.status = page.getByRole('status').filter({ hasText: /model|YAML|Computing/i });
  }

  async open() {
    await this.page.goto('/');
    await expect(this.editor.locator('.monaco-editor')).toBeVisible();
    await expect(this.hops.getByRole('option').first()).toBeVisible({ timeout: 20_000 });
  }

  /** The editor's visible text (Monaco renders spaces as non-breaking spaces). */
  async editorText(): Promise<string> {
    const text = await this.editor.locator('.view-lines').innerText();
    return text.replace(/\u00a0/g, ' ');
  }

  /** Puts the caret at the end of a 1-based line, as a person would with the keyboard. */
  async caretToLineEnd(line: number) {
    await this.editor.locator('.view-lines').click();
    await this.page.keyboard.press('Control+Home');
    for (let i = 1; i < line; i++) await this.page.keyboard.press('ArrowDown');
    await this.page.keyboard.press('End');
  }

  async replaceLineEnd(line: number, remove: number, insert: string) {
    await this.caretToLineEnd(line);
    for (let i = 0; i < remove; i++) await this.page.keyboard.press('Backspace');
    // insertText: Monaco reads text from input events (a typed space can be swallowed by key handling)
    await this.page.keyboard.insertText(insert);
  }

  node(name: string) {
    return this.diagram.getByLabel(new RegExp(`^Node ${name} `));
  }

  pods() {
    return this.diagram.getByLabel(/^Pod /);
  }

  hopOptions() {
    return this.hops.getByRole('option');
  }

  selectedHop() {
    return this.hops.getByRole('option', { selected: true });
  }

  button(name: string) {
    return this.page.getByRole('button', { name, exact: true });
  }

  scenarioPicker() {
    return this.page.getByRole('combobox', { name: 'Scenario' });
  }

  /** The iptables-save panel (a disclosure); opens it. */
  async openIptables() {
    await this.page.getByText('iptables-save', { exact: true }).click();
    return this.page.getByRole('combobox', { name: 'Node' });
  }

  activeElement() {
    return this.diagram.locator('.is-active');
  }
}
