import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
}

interface State {
  error?: Error;
}

/** A rendering bug shows a message and a way back instead of a blank page. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = {};

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('The page failed to render', error, info.componentStack);
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <section className="card error" role="alert">
        <h2>Something on this page broke</h2>
        <p>{error.message || String(error)}</p>
        <p className="hint">
          Your settings and past runs are kept. Try again, or reload the page if this keeps happening.
        </p>
        <div className="actions">
          <button type="button" className="primary" onClick={() => this.setState({ error: undefined })}>
            Try again
          </button>
          <button type="button" onClick={() => window.location.reload()}>
            Reload the page
          </button>
        </div>
      </section>
    );
  }
}
