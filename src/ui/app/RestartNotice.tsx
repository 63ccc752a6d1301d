import { useAppStore } from '../../store/app';

/** Shown when the worker had to be replaced (it crashed, or a run was stopped at once). */
export function RestartNotice() {
  const message = useAppStore((s) => s.restartNotice);
  const setNotice = useAppStore((s) => s.setRestartNotice);
  if (!message) return null;
  return (
    <div className="banner" role="status">
      <span>{message}</span>
      <button type="button" className="quiet" onClick={() => setNotice(undefined)}>
        Dismiss
      </button>
    </div>
  );
}
