// Builds the page's <img srcset> with kinu/client, in the browser. The kinu server and the image's key come
// from the page's query (?kinu=http://127.0.0.1:8080&key=pigeons.jpg); the defaults fit `npm start`.
import { kinuUrl, sizes, srcset } from 'kinu/client';

const query = new URLSearchParams(location.search);
const base = query.get('kinu') ?? 'http://localhost:8080';
const key = query.get('key') ?? 'pigeons.jpg';

const img = document.createElement('img');
img.alt = 'Pigeons on a roof';
img.width = 3082;
img.height = 2048;
// sizes and srcset are set before src and before the image is in the document, so the browser chooses once.
img.sizes = sizes({ '(min-width: 1000px)': '50vw' }, '100vw');
img.srcset = srcset(base, key, [1600, 400, 200, 800], { fmt: 'auto' });
img.src = kinuUrl(base, key, { w: 800, fmt: 'auto' });
document.getElementById('hero').append(img);

document.getElementById('markup').textContent = `<img src="${img.getAttribute('src')}"\n     srcset="${img.getAttribute('srcset')}"\n     sizes="${img.getAttribute('sizes')}">`;

const chosen = document.getElementById('chosen');
img.addEventListener('load', () => {
  const w = new URL(img.currentSrc).searchParams.get('w');
  chosen.textContent = `At ${innerWidth} CSS px wide and devicePixelRatio ${devicePixelRatio}, the browser chose the ${w} px candidate: ${img.currentSrc}`;
  document.body.dataset.state = 'loaded';
});
img.addEventListener('error', () => {
  chosen.textContent = `Could not load ${img.currentSrc}: is kinu running at ${base}?`;
  document.body.dataset.state = 'error';
});
