// panva oidc-provider for the HALO interop tests, on loopback only.
// Usage: node server.mjs <port>   (env: BACKEND_JWKS = public JWK set of the backend client,
//                                        SOFA_SIGN_IN = the SoFA's sign-in endpoint)
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
if (!port) {
  console.error('usage: node server.mjs <port>');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const backendJwks = JSON.parse(process.env.BACKEND_JWKS || '{"keys":[]}');
const sofaSignIn = process.env.SOFA_SIGN_IN || 'http://127.0.0.1:9/auth/sign-in';

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'halo-emr', token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1:9/emr/callback'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    { client_id: 'halo-short', token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1:9/emr/callback'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    { client_id: 'other-app', token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1:9/emr/callback'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] },
    { client_id: 'halo-backend', token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'ES384', jwks: backendJwks,
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [] },
    { client_id: 'sofa', client_secret: 'sofa-introspection-secret-01',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: [], response_types: [], redirect_uris: [] },
    { client_id: 'sofa-rp', client_secret: 'sofa-rp-secret-0123456789',
      token_endpoint_auth_method: 'client_secret_basic', redirect_uris: [sofaSignIn],
      grant_types: ['authorization_code'], response_types: ['code'] },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'context-write'],
  claims: { openid: ['sub', 'fhirUser'] },
  conformIdTokenClaims: false,
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'RS384', 'PS256', 'ES256', 'ES384'],
  },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true, allowedPolicy: async () => true },
    revocation: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // every access token is for the SoFA, except other-app's (a different audience)
      defaultResource: (ctx, client) => (client && client.clientId === 'other-app' ? 'urn:other-service' : 'urn:halo:sofa'),
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource, client) => ({
        scope: 'context-write',
        audience: resource === 'urn:halo:sofa' ? 'sofa' : 'other-service',
        accessTokenTTL: client && client.clientId === 'halo-short' ? 2 : 300,
        accessTokenFormat: 'opaque',
      }),
    },
  },
  findAccount: async (ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, fhirUser: 'Practitioner/op-clinician' }),
  }),
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  ttl: { AccessToken: (ctx, token, client) => (client && client.clientId === 'halo-short' ? 2 : 300), AuthorizationCode: 60, IdToken: 300, RefreshToken: 3600, ClientCredentials: 300 },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
