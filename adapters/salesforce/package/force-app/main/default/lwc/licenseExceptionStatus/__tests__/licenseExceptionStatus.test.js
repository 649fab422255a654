import { createElement } from 'lwc';
import LicenseExceptionStatus, { daysUntil, fieldOnRecord, humanize } from 'c/licenseExceptionStatus';
import { getRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { getRelatedListRecords } from 'lightning/uiRelatedListApi';

const OBJECT = 'License_Exception_Request__c';
const TODAY = new Date(2026, 11, 3, 9, 30); // 3 December 2026, local time

/** A record as getRecord delivers it: each field as {value, displayValue}. */
function record(values) {
    const fields = {};
    Object.entries(values).forEach(([name, value]) => {
        fields[name] = { value, displayValue: null };
    });
    return { apiName: OBJECT, id: 'a0X5g0000000001AAA', fields };
}

const OBJECT_INFO = {
    apiName: OBJECT,
    fields: {
        Use_Case__c: { apiName: 'Use_Case__c', label: 'Use Case' },
        Account__c: { apiName: 'Account__c', label: 'Account' },
        Justification__c: { apiName: 'Justification__c', label: 'Justification' }
    }
};

function mount(objectApiName = OBJECT) {
    const element = createElement('c-license-exception-status', { is: LicenseExceptionStatus });
    element.recordId = objectApiName === OBJECT ? 'a0X5g0000000001AAA' : '0015g00000ABCDEAAA';
    element.objectApiName = objectApiName;
    document.body.appendChild(element);
    return element;
}

const $ = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const text = (element, id) => ($(element, id) ? $(element, id).textContent.replace(/\s+/g, ' ').trim() : null);
const flush = () => Promise.resolve();

async function show(values) {
    const element = mount();
    getObjectInfo.emit(OBJECT_INFO);
    getRecord.emit(record(values));
    await flush();
    return element;
}

const BASE = {
    Name: 'Acme: 120 seats in EMEA',
    Governance_Key__c: 'LEX-1042',
    Governance_URL__c: 'https://connector.example.com/requests/LEX-1042',
    Governance_Track__c: null,
    Risk_Band__c: null,
    Decision__c: null,
    Decision_Rationale__c: null,
    Granted_Boundaries__c: null,
    Entitlement_Effective__c: null,
    Entitlement_Expires__c: null,
    Missing_Information__c: null,
    Missing_Fields__c: null,
    Votes_Waiting__c: null
};

describe('c-license-exception-status on a request', () => {
    beforeEach(() => {
        jest.useFakeTimers();
        jest.setSystemTime(TODAY);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.useRealTimers();
        jest.clearAllMocks();
    });

    it('asks for exactly the fields it reads', async () => {
        mount();
        await flush();
        const config = getRecord.getLastConfig();
        expect(config.recordId).toBe('a0X5g0000000001AAA');
        const names = config.fields.map((f) => f.fieldApiName);
        expect(names).toEqual(expect.arrayContaining(['Governance_Status__c', 'Missing_Fields__c', 'Votes_Waiting__c',
            'Granted_Boundaries__c', 'Entitlement_Expires__c', 'Governance_URL__c']));
    });

    it('shows a request in review with missing information and a form for the fields to fill', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'needs_info',
            Missing_Information__c: 'Missing: use_case, customer.name',
            Missing_Fields__c: 'Use_Case__c, Account__r.Name'
        });
        expect(text(element, 'state')).toBe('Needs information');
        expect(text(element, 'missing')).toContain('Missing: use_case, customer.name');
        const inputs = [...element.shadowRoot.querySelectorAll('lightning-input-field')];
        expect(inputs.map((i) => i.fieldName)).toEqual(['Use_Case__c', 'Account__c']);
        expect($(element, 'decision')).toBeNull();
        expect($(element, 'votes-waiting')).toBeNull();

        $(element, 'fill-form').dispatchEvent(new CustomEvent('success'));
        await flush();
        expect(text(element, 'saved')).toContain('Saved');
    });

    it('shows a request in review with the votes it waits for', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'in_review',
            Governance_Track__c: 'standard',
            Risk_Band__c: 'high',
            Votes_Waiting__c: 'security, legal'
        });
        expect(text(element, 'state')).toBe('In review');
        expect(text(element, 'track')).toBe('Standard track');
        expect(text(element, 'risk')).toBe('High risk');
        expect($(element, 'risk').className).toContain('slds-theme_error');
        const votes = [...$(element, 'votes-waiting').querySelectorAll('li')].map((li) => li.textContent);
        expect(votes).toEqual(['Security', 'Legal']);
        expect($(element, 'awaiting-chair')).toBeNull();
        expect($(element, 'fill-form')).toBeNull();
    });

    it('shows an approved request with its boundaries and an expiry badge', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'approved',
            Governance_Track__c: 'fast',
            Risk_Band__c: 'low',
            Decision__c: 'approved_with_conditions',
            Decision_Rationale__c: 'Strategic account; usage reviewed quarterly.',
            Granted_Boundaries__c: 'seats: 120; regions: EMEA; valid 2026-12-01 to 2026-12-23',
            Entitlement_Effective__c: '2026-12-01',
            Entitlement_Expires__c: '2026-12-23'
        });
        expect(text(element, 'state')).toBe('Approved');
        expect(text(element, 'decision')).toContain('Approved with conditions');
        expect(text(element, 'rationale')).toBe('Strategic account; usage reviewed quarterly.');
        const lines = [...$(element, 'boundaries').querySelectorAll('li')].map((li) => li.textContent);
        expect(lines).toEqual(['seats: 120', 'regions: EMEA', 'valid 2026-12-01 to 2026-12-23']);
        expect(text(element, 'expiry')).toBe('Expires in 20 days');
        expect($(element, 'expiry').className).toContain('slds-theme_warning');
        expect($(element, 'link').href).toBe('https://connector.example.com/requests/LEX-1042');
        expect(text(element, 'link')).toContain('LEX-1042');
    });

    it('shows a denied request with the reason and no boundaries', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'denied',
            Governance_Track__c: 'standard',
            Risk_Band__c: 'critical',
            Decision__c: 'denied',
            Decision_Rationale__c: 'Redistribution rights are never granted.'
        });
        expect(text(element, 'state')).toBe('Denied');
        expect($(element, 'state').className).toContain('slds-theme_error');
        expect(text(element, 'rationale')).toBe('Redistribution rights are never granted.');
        expect($(element, 'boundaries')).toBeNull();
        expect($(element, 'expiry')).toBeNull();
    });

    it('shows an expired request as expired on its date', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'expired',
            Decision__c: 'approved',
            Granted_Boundaries__c: 'seats: 120',
            Entitlement_Effective__c: '2026-06-01',
            Entitlement_Expires__c: '2026-11-30'
        });
        expect(text(element, 'state')).toBe('Expired');
        expect(text(element, 'expiry')).toBe('Expired 2026-11-30');
        expect($(element, 'boundaries')).toBeNull();
    });

    it('shows a revoked request with why it was revoked', async () => {
        const element = await show({
            ...BASE,
            Governance_Status__c: 'revoked',
            Decision__c: 'approved',
            Decision_Rationale__c: 'Revoked: the customer breached the usage terms.',
            Entitlement_Expires__c: '2027-06-30'
        });
        expect(text(element, 'state')).toBe('Revoked');
        expect(text(element, 'rationale')).toBe('Revoked: the customer breached the usage terms.');
        expect($(element, 'expiry')).toBeNull();
        expect($(element, 'boundaries')).toBeNull();
    });

    it('says so while the connector has not picked the record up', async () => {
        const element = await show({ ...BASE, Governance_Status__c: null, Governance_Key__c: null });
        expect(text(element, 'not-received')).toContain('has not picked this request up yet');
        expect($(element, 'state')).toBeNull();
    });

    it('shows the error when the record cannot be read', async () => {
        const element = mount();
        getRecord.error({ message: 'Insufficient access to License_Exception_Request__c' });
        await flush();
        expect(text(element, 'error')).toBeTruthy();
    });
});

describe('c-license-exception-status on an account', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.clearAllMocks();
    });

    it("lists the account's requests with their state", async () => {
        const element = mount('Account');
        await flush();
        expect(getRelatedListRecords.getLastConfig()).toEqual(expect.objectContaining({
            parentRecordId: '0015g00000ABCDEAAA', relatedListId: 'License_Exception_Requests__r'
        }));
        const row = (id, name, status, decision, expires) => ({
            id,
            fields: {
                Name: { value: name },
                Governance_Key__c: { value: null },
                Governance_Status__c: { value: status },
                Decision__c: { value: decision },
                Entitlement_Expires__c: { value: expires }
            }
        });
        getRelatedListRecords.emit({ records: [
            row('a0X1', 'Acme: 120 seats', 'approved', 'approved', '2027-06-30'),
            row('a0X2', 'Acme: on-prem', null, null, null)
        ] });
        await flush();
        const items = [...$(element, 'requests').querySelectorAll('li')];
        expect(items).toHaveLength(2);
        expect(items[0].textContent).toContain('Approved');
        expect(items[0].textContent).toContain('until 2027-06-30');
        expect(items[0].querySelector('a').getAttribute('href')).toBe('/lightning/r/License_Exception_Request__c/a0X1/view');
        expect(items[1].textContent).toContain('Not yet received');
    });

    it('invites to file one when there is none', async () => {
        const element = mount('Opportunity');
        getRelatedListRecords.emit({ records: [] });
        await flush();
        expect(text(element, 'no-requests')).toContain('Request a license exception');
    });
});

describe('helpers', () => {
    it('humanizes governance values', () => {
        expect(humanize('approved_with_conditions')).toBe('Approved with conditions');
        expect(humanize(null)).toBe('');
    });

    it('counts whole days to a date', () => {
        expect(daysUntil('2026-12-04', TODAY)).toBe(1);
        expect(daysUntil('2026-12-03', TODAY)).toBe(0);
        expect(daysUntil('2026-11-30', TODAY)).toBe(-3);
        expect(daysUntil(null, TODAY)).toBeNull();
    });

    it('names the lookup behind a relationship path', () => {
        expect(fieldOnRecord('Account__r.Name')).toBe('Account__c');
        expect(fieldOnRecord(' Use_Case__c ')).toBe('Use_Case__c');
    });
});
