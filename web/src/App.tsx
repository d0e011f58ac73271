/** The app's shell: navigation between the patient portal, the provider console and the ledger explorer. */
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { ExplorerPage } from './pages/Explorer.js';
import { PatientPage } from './pages/Patient.js';
import { ProviderPage } from './pages/Provider.js';
import { ShlViewerPage } from './pages/ShlViewer.js';

type Route = '/' | '/patient' | '/provider' | '/explorer' | '/shl';

function routeOf(path: string): Route {
  if (path.startsWith('/patient')) return '/patient';
  if (path.startsWith('/provider')) return '/provider';
  if (path.startsWith('/explorer')) return '/explorer';
  if (path === '/shl' || path === '/shl/') return '/shl';
  return '/';
}

const LINKS: ReadonlyArray<readonly [Route, string]> = [
  ['/patient', 'Patient portal'],
  ['/provider', 'Provider console'],
  ['/explorer', 'Ledger explorer'],
];

export function App() {
  const [route, setRoute] = useState<Route>(routeOf(globalThis.location.pathname));
  const main = useRef<HTMLElement>(null);
  const navigated = useRef(false);
  useEffect(() => {
    const onPop = () => setRoute(routeOf(globalThis.location.pathname));
    globalThis.addEventListener('popstate', onPop);
    return () => globalThis.removeEventListener('popstate', onPop);
  }, []);
  // A new screen: its name in the title, and keyboard focus at its start (not on the old link).
  useEffect(() => {
    const name = LINKS.find(([to]) => to === route)?.[1];
    document.title = name
      ? `${name} — Roam`
      : route === '/shl'
        ? 'Shared health summary — Roam'
        : 'Roam — your health record, with you';
    if (navigated.current) main.current?.focus();
  }, [route]);
  const go = (to: Route) => (event: MouseEvent) => {
    event.preventDefault();
    globalThis.history.pushState(null, '', to);
    navigated.current = true;
    setRoute(to);
  };
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a href="/" className="brand" onClick={go('/')}>
          Roam
        </a>
        <nav aria-label="Main">
          {LINKS.map(([to, label]) => (
            <a key={to} href={to} onClick={go(to)} aria-current={route === to ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {route === '/' && <Home go={go} />}
        {route === '/patient' && <PatientPage />}
        {route === '/provider' && <ProviderPage />}
        {route === '/explorer' && <ExplorerPage />}
        {route === '/shl' && <ShlViewerPage />}
      </main>
    </>
  );
}

function Home({ go }: { go: (to: Route) => (event: MouseEvent) => void }) {
  return (
    <div className="home">
      <h1>Your health record, with you</h1>
      <p>
        Roam keeps your record encrypted with the organizations that wrote it, and a shared ledger records who
        may see it and who did.
      </p>
      <div className="choices">
        <a className="choice" href="/patient" onClick={go('/patient')}>
          <strong>I am a patient</strong>
          <span>Create your wallet, see your record, choose who can see it, and see who did.</span>
        </a>
        <a className="choice" href="/provider" onClick={go('/provider')}>
          <strong>I am a provider</strong>
          <span>Sign in with your practitioner wallet, open a patient's chart, add a record.</span>
        </a>
        <a className="choice" href="/explorer" onClick={go('/explorer')}>
          <strong>Ledger explorer</strong>
          <span>Blocks, transactions and their proofs, the network's nodes.</span>
        </a>
      </div>
    </div>
  );
}
