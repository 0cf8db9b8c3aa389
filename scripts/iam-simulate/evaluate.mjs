#!/usr/bin/env node
// Evaluate IAM requests against identity policies, permission boundaries and
// resource policies with @cloud-copilot/iam-simulate, and report every request
// whose outcome differs from its `expect`. See README.md for the input format.
//
// Usage: node evaluate.mjs [--json] <input.json | ->
// Exit:  0 all as expected, 1 some not, 2 unreadable input or rejected request.

import { readFileSync } from 'node:fs';
import {
  runSimulation,
  getDenialReasons,
  getGrantReasons,
  typeForContextKey,
  isConditionKeyArray,
  allowedContextKeysForRequest,
  runUnsafeSimulation,
} from '@cloud-copilot/iam-simulate';
import { createValidatedPolicy, validateResourcePolicy } from '@cloud-copilot/iam-policy';

class InputError extends Error {}

async function main(file) {
  const input = readInput(file);
  const rows = [];
  for (const [index, request] of input.requests.entries()) {
    rows.push(await evaluate(input, request, index));
  }
  const bad = rows.filter((r) => r.result !== r.expect);
  if (asJson) {
    console.log(JSON.stringify(rows, null, 2));
  } else {
    for (const r of bad) {
      const what = r.result === 'Deny' ? 'DENIED' : 'ALLOWED but expected Deny';
      const { why, source } = input.requests[r.index];
      const ctx = [why, source].filter(Boolean).join('; ');
      console.log(`${what} ${r.principal} ${r.action} on ${r.resource}${ctx && ` (${ctx})`}: ${r.explanation}`);
    }
    console.log(
      `iam-simulate: ${rows.length} requests, ${rows.length - bad.length} as expected, ${bad.length} not`,
    );
  }
  return bad.length === 0 ? 0 : 1;
}

// ---------------------------------------------------------------- input

function readInput(file) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read ${file === '-' ? 'stdin' : file}: ${err.message}`);
  }
  const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(doc)) throw new InputError('input must be a JSON object');
  if (!isObject(doc.principals)) throw new InputError('"principals" must be an object');
  for (const [label, p] of Object.entries(doc.principals)) {
    if (!isObject(p) || typeof p.arn !== 'string' || !accountOf(p.arn)) {
      throw new InputError(`principal "${label}": "arn" must be an ARN with an account id`);
    }
    if (p.identity !== undefined && !Array.isArray(p.identity)) {
      throw new InputError(`principal "${label}": "identity" must be an array of policy documents`);
    }
    if (p.boundary != null && !isObject(p.boundary)) {
      throw new InputError(`principal "${label}": "boundary" must be a policy document or null`);
    }
  }
  if (doc.resourcePolicies != null && !isObject(doc.resourcePolicies)) {
    throw new InputError('"resourcePolicies" must be an object keyed by resource ARN');
  }
  if (!Array.isArray(doc.requests)) throw new InputError('"requests" must be an array');
  doc.requests.forEach((r, i) => {
    const where = `request #${i} (${r?.action} by ${r?.principal})`;
    if (!isObject(r)) throw new InputError(`request #${i} must be an object`);
    if (!Object.hasOwn(doc.principals, r.principal)) {
      throw new InputError(`${where}: unknown principal "${r.principal}"`);
    }
    for (const k of ['action', 'resource']) {
      if (typeof r[k] !== 'string' || r[k] === '') throw new InputError(`${where}: "${k}" must be a string`);
    }
    if (r.expect !== 'Allow' && r.expect !== 'Deny') {
      throw new InputError(`${where}: "expect" must be "Allow" or "Deny"`);
    }
    if (r.context != null && !isObject(r.context)) throw new InputError(`${where}: "context" must be an object`);
    for (const [k, v] of Object.entries(r.context ?? {})) {
      const ok = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      if (!ok) throw new InputError(`${where}: context "${k}" must be a string or an array of strings`);
    }
  });
  return doc;
}

// ARN: arn:partition:service:region:account:resource
function accountOf(arn) {
  const parts = arn.split(':');
  return parts.length >= 6 && parts[0] === 'arn' ? parts[4] : '';
}

// ----------------------------------------------------------- evaluation

async function evaluate(input, request, index) {
  const principal = input.principals[request.principal];
  const where = `request #${index} (${request.action} by ${request.principal})`;
  // iam-simulate does not derive request context from the principal; add the
  // keys AWS always sets, unless the request gives them.
  const account = accountOf(principal.arn);
  const context = {
    'aws:PrincipalArn': principal.arn,
    'aws:PrincipalAccount': account,
    ...(request.action.toLowerCase().startsWith('kms:') && { 'kms:CallerAccount': account }),
    ...request.context,
  };

  // The library silently keeps only the first value of an array given for a
  // single-valued key; treat that as an input error instead.
  for (const [key, value] of Object.entries(context)) {
    const type = await typeForContextKey(key).catch(() => undefined); // unknown keys: ignored below
    if (Array.isArray(value) && value.length > 1 && type && !isConditionKeyArray(type)) {
      throw new InputError(`${where}: context key "${key}" is single-valued but got ${value.length} values`);
    }
  }

  const resourcePolicy = input.resourcePolicies?.[request.resource];
  const simulation = {
    request: {
      principal: principal.arn,
      action: request.action,
      resource: {
        resource: request.resource,
        // Resource ARNs without an account (S3 buckets, "*") are taken to be
        // in the principal's account unless the request says otherwise.
        accountId: request.resourceAccount ?? (accountOf(request.resource) || accountOf(principal.arn)),
      },
      contextVariables: context,
    },
    identityPolicies: (principal.identity ?? []).map((policy, i) => ({ name: `identity[${i}]`, policy })),
    permissionBoundaryPolicies: principal.boundary ? [{ name: 'boundary', policy: principal.boundary }] : undefined,
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy,
  };

  const response = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (response.resultType === 'error') {
    throw new InputError(`${where}: rejected by iam-simulate: ${JSON.stringify(response.errors)}`);
  }
  let overall = response.overallResult;
  const analyses = response.resultType === 'single' ? [response.result] : response.results;
  let ignored = [...new Set(analyses.flatMap((a) => a.ignoredContextKeys ?? []))];

  // iam-simulate drops context keys whose variable part follows a ':' (only
  // '/' is recognised), e.g. kms:EncryptionContext:<key>, although its own
  // service reference lists them (kms:encryptioncontext:${encryptioncontextkey}).
  // For those, take the decision from runUnsafeSimulation with the keys kept.
  const recovered = response.resultType === 'single' ? await colonVariableKeys(request, ignored) : [];
  let note = '';
  if (recovered.length > 0) {
    ignored = ignored.filter((k) => !recovered.includes(k));
    const contextVariables = {};
    for (const [key, value] of Object.entries(context)) {
      if (ignored.includes(key)) continue;
      contextVariables[key] = isConditionKeyArray(await typeForContextKey(key)) ? [value].flat() : [value].flat()[0];
    }
    const unsafe = runUnsafeSimulation(
      {
        ...simulation,
        request: { ...simulation.request, contextVariables },
        // runUnsafeSimulation loads a plain resource policy without a name and
        // then crashes reading it; a ValidatedPolicy carries its metadata.
        resourcePolicy: resourcePolicy && createValidatedPolicy(resourcePolicy, validateResourcePolicy, { name: 'resource policy' }),
      },
      {},
    );
    note = ` [decided by runUnsafeSimulation to keep ${recovered.join(', ')}; details below are from the validated run without ${recovered.length > 1 ? 'them' : 'it'}${unsafe === overall ? '' : `, which gave ${overall}`}]`;
    overall = unsafe;
  }
  if (ignored.length > 0) {
    console.error(`iam-simulate: warning: ${where}: context keys ignored (not applicable to this action/resource): ${ignored.join(', ')}`);
  }

  let explanation = overall + note;
  if (response.resultType === 'wildcard' && analyses.length === 0) {
    explanation += ': no policy statement names a resource matching this wildcard';
  } else {
    explanation += ': ' + analyses.map((a) => (a.resourcePattern ? `[${a.resourceType} ${a.resourcePattern}] ` : '') + explain(a.analysis)).join(' | ');
  }
  if (ignored.length > 0) explanation += ` (ignored context keys: ${ignored.join(', ')})`;

  return {
    index,
    principal: request.principal,
    action: request.action,
    resource: request.resource,
    expect: request.expect,
    result: overall === 'Allowed' ? 'Allow' : 'Deny',
    explanation,
    ...(ignored.length > 0 && { ignoredContextKeys: ignored }),
  };
}

// Of the keys the library ignored, those that match one of its own allowed
// `prefix:${variable}` keys for this action and resource.
async function colonVariableKeys(request, ignored) {
  if (ignored.length === 0) return [];
  const [service, action] = request.action.split(':');
  const allowed = await allowedContextKeysForRequest(service, action, request.resource, false);
  const prefixes = allowed.filter((k) => k.includes(':${')).map((k) => k.slice(0, k.indexOf('${')));
  return ignored.filter((key) => prefixes.some((p) => key.toLowerCase().startsWith(p) && key.length > p.length));
}

// ---------------------------------------------------------- explanation

const POLICY_NAMES = {
  identity: 'identity policies',
  resource: 'resource policy',
  pb: 'permissions boundary',
  scp: 'SCPs',
  rcp: 'RCPs',
  vpce: 'VPC endpoint policy',
  's3-bpa': 'S3 Block Public Access',
};

function statementName(policyId, statement) {
  const sid = statement.sid();
  return `${policyId ? policyId + ' ' : ''}statement ${sid ? `"${sid}"` : `#${statement.index()}`}`;
}

function explain(analysis) {
  if (analysis.result === 'Allowed') {
    return getGrantReasons(analysis)
      .map((g) => `allowed by ${POLICY_NAMES[g.policyType]} ${g.policyIdentifier ?? ''} statement ${g.statementId ? `"${g.statementId}"` : `#${g.statementIndex}`}`.replace(/  +/g, ' '))
      .join('; ');
  }
  const parts = [];
  for (const d of getDenialReasons(analysis)) {
    if (d.denialType === 'Explicit') {
      parts.push(`explicit Deny in ${POLICY_NAMES[d.policyType]} ${d.policyIdentifier ?? ''} statement ${d.statementId ? `"${d.statementId}"` : `#${d.statementIndex}`}`.replace(/  +/g, ' '));
    } else {
      parts.push(`no Allow in ${POLICY_NAMES[d.policyType]}${d.identifier ? ' ' + d.identifier : ''}` + nearMisses(analysis, d.policyType));
    }
  }
  if (analysis.blockedBy?.length) {
    parts.push(`would be allowed but blocked by ${analysis.blockedBy.map((b) => POLICY_NAMES[b] ?? b).join(', ')}`);
  }
  // Identity policies allow and nothing blocks, yet denied: the resource side
  // is missing (cross-account, or a KMS key whose policy does not delegate to IAM).
  if (analysis.identityAnalysis?.result === 'Allowed' && !analysis.blockedBy?.length && analysis.result === 'ImplicitlyDenied') {
    parts.push(
      !analysis.sameAccount
        ? 'identity policies allow, but cross-account access also needs the resource policy to allow'
        : analysis.resourceAnalysis?.result === 'NotApplicable'
          ? 'identity policies allow, but this resource honours them only through its resource policy, and it has none (a KMS key needs its key policy)'
          : 'identity policies allow, but the resource policy does not delegate to the account (no Allow for Principal arn:aws:iam::<account>:root), so they do not count',
    );
  }
  return parts.join('; ') || 'no applicable Allow';
}

// Allow statements that matched the action and resource but not the principal
// or the conditions: say which and why.
function nearMisses(analysis, policyType) {
  const key = { identity: 'identityAnalysis', resource: 'resourceAnalysis', pb: 'permissionBoundaryAnalysis', vpce: 'endpointAnalysis' }[policyType];
  const statements = analysis[key]?.unmatchedStatements ?? [];
  const misses = statements.filter((s) => s.statement.effect() === 'Allow' && s.actionMatch && s.resourceMatch);
  if (misses.length === 0) {
    return statements.length === 0 ? ' (no statements)' : ' (no Allow statement matches this action and resource)';
  }
  const why = (s) =>
    s.principalMatch === 'NoMatch'
      ? `names other principals (${[s.explain.principals ?? []].flat().map((p) => p.principal).join(', ')})`
      : `failed ${failedConditions(s.explain)}`;
  return ' (' + misses.map((s) => `${statementName(s.policyId, s.statement)} ${why(s)}`).join('; ') + ')';
}

function failedConditions(explain) {
  return (explain.conditions ?? [])
    .filter((c) => !c.matches)
    .map((c) => {
      const expected = [c.values].flat().map((v) => v.value).join(',');
      const reason = c.failedBecauseMissing
        ? 'key absent from request'
        : c.failedBecauseArray
          ? 'multi-valued key needs ForAnyValue/ForAllValues'
          : c.missingOperator
            ? 'unknown operator'
            : 'value did not match';
      return `${c.operator} ${c.conditionKeyValue}=[${expected}] (${reason})`;
    })
    .join(', ');
}

// ------------------------------------------------------------------ run

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const files = args.filter((a) => a !== '--json');

try {
  if (files.length !== 1) {
    throw new InputError('usage: node evaluate.mjs [--json] <input.json | ->');
  }
  process.exitCode = await main(files[0]);
} catch (err) {
  console.error(`iam-simulate: ${err instanceof InputError ? err.message : err.stack}`);
  process.exitCode = 2;
}
