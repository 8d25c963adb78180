/**
 * The document title, with the number of messages that arrived while the tab
 * was hidden in front: `(3) #team · Parley`. The count starts when the tab is
 * hidden and clears when it is shown again.
 */
export class PageTitle {
  private base = 'Parley';
  private unseen = 0;

  constructor() {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.unseen = 0;
        this.draw();
      }
    });
  }

  /** The title of what is shown (`#team · Parley`). */
  set(title: string): void {
    this.base = title;
    this.draw();
  }

  /** `count` new messages of others arrived: counted while the tab is hidden. */
  arrived(count: number): void {
    if (document.visibilityState !== 'hidden' || count === 0) return;
    this.unseen += count;
    this.draw();
  }

  private draw(): void {
    document.title = this.unseen > 0 ? `(${this.unseen}) ${this.base}` : this.base;
  }
}
