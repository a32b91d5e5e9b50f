// The peer of bench/token-endpoint.sh: node oidc-provider issuing RFC 9068
// JWT access tokens for the client credentials grant, signed with ALG, the
// same work Sigil's token endpoint does. One client, one resource server.
//
//   PORT=9090 ALG=ES256 CLIENT_SECRET=... node server.mjs
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 9090);
const alg = process.env.ALG ?? 'RS256';
const audience = 'https://api.example.com';

const jwk = (type, options, algorithm) => ({
  ...generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' }),
  alg: algorithm,
  use: 'sig',
});

const provider = new Provider(`http://127.0.0.1:${port}`, {
  jwks: {
    keys: [
      jwk('rsa', { modulusLength: 2048 }, 'RS256'),
      jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
      jwk('ed25519', {}, 'EdDSA'),
    ],
  },
  clients: [
    {
      client_id: 'bench',
      client_secret: process.env.CLIENT_SECRET,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api.read',
    },
  ],
  scopes: ['openid', 'offline_access', 'api.read'],
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api.read',
        audience,
        accessTokenTTL: 300,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg } },
      }),
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`node oidc-provider listening on http://127.0.0.1:${port} (${alg})`);
});
