// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title Escrow for Wholesum proving jobs
/// @notice A client opens a job with its terms (segment count, price per segment, verifier fee and
/// the verifier set that will judge it) and locks a budget that covers them all. Provers post
/// collateral with their deals. Each segment the client accepts earns its prover a signed
/// acceptance. At the end one settlement, a Merkle root of (payee, amount) signed by the client
/// and a quorum of the job's verifiers, lets every payee claim with one proof, whatever the segment
/// count. A prover left out of the root claims with its acceptances instead. Collateral is slashed
/// on a fault signed by the quorum (half burned, half to the client). After the claim window the
/// client takes back what is left.
/// @dev A STARK receipt cannot be checked on chain: every verdict about a receipt is the verifier
/// quorum's signature over digests that anyone holding the receipt can re-check off chain. What
/// the contract enforces is who can be paid and how much at most: only the job's dealt provers
/// (all of them together at most segments x price, each accepted segment at most once) and the
/// job's verifiers (each at most the fee).
contract WholesumEscrow is EIP712, ReentrancyGuard {
    /// @notice The client's word that one segment, proved by `prover`, was accepted: worth `amount` wei.
    bytes32 public constant ACCEPTANCE_TYPEHASH =
        keccak256("Acceptance(bytes32 jobKey,uint32 segment,address prover,uint128 amount)");
    /// @notice The job's payouts: a root over (payee, amount) leaves summing to `total`, and the
    /// final receipt and journal (SHA-256 of their bytes) that the verifiers found valid.
    bytes32 public constant SETTLEMENT_TYPEHASH = keccak256(
        "Settlement(bytes32 jobKey,bytes32 root,uint128 total,bytes32 receiptDigest,bytes32 journalDigest)"
    );
    /// @notice A verifier's statement that the segment receipt `prover` delivered (SHA-256 of its
    /// bytes) failed verification against the claim the client expected for `segment`.
    bytes32 public constant FAULT_TYPEHASH =
        keccak256("Fault(bytes32 jobKey,address prover,uint32 segment,bytes32 receiptDigest)");

    /// @notice What a client commits to when it opens a job.
    struct JobTerms {
        /// @dev The core's job ID (a hash of the client's peer ID, a nonce, the image ID and the
        /// input CID). The escrow keys the job by (client, jobId): nobody else can take the key.
        bytes32 jobId;
        uint64 deadline;
        uint64 claimWindow;
        uint32 segments;
        uint16 quorum;
        uint128 pricePerSegment;
        uint128 verifierFee;
        /// @dev The verifiers whose signatures count for this job, in ascending address order,
        /// each registered when the job opens. Provers see them before they post collateral.
        address[] verifiers;
    }

    struct Job {
        address client;
        uint64 deadline;
        uint16 quorum;
        uint64 claimWindow;
        uint64 settledAt;
        uint32 segments;
        bool closed;
        uint128 budget;
        uint128 paid;
        uint128 pricePerSegment;
        uint128 verifierFee;
        /// @dev Paid to provers, by root or acceptances: never above segments x pricePerSegment.
        uint128 paidToProvers;
        bytes32 root;
    }

    struct Account {
        uint128 collateral;
        /// @dev Everything paid to this account for the job, by root or by acceptances.
        uint128 paid;
        /// @dev The sum of the distinct acceptances it has shown.
        uint128 accepted;
        /// @dev Posted collateral in this job: a dealt prover.
        bool prover;
        bool slashed;
    }

    struct Verifier {
        uint128 bond;
        uint64 retiringAt;
    }

    uint16 public immutable minQuorum;
    uint128 public immutable minVerifierBond;
    uint64 public immutable minClaimWindow;
    uint64 public immutable retireDelay;
    uint64 public constant MAX_CLAIM_WINDOW = 365 days;
    uint64 public constant MAX_JOB_DURATION = 365 days;
    uint256 public constant MAX_VERIFIERS = 16;

    mapping(bytes32 jobKey => Job) private _jobs;
    mapping(bytes32 jobKey => mapping(address account => Account)) private _accounts;
    mapping(bytes32 jobKey => mapping(address verifier => bool)) private _jobVerifiers;
    /// @dev keccak256(jobKey, segment) of every segment paid through an acceptance.
    mapping(bytes32 key => bool) private _segmentAccepted;
    mapping(address verifier => Verifier) private _verifiers;
    /// @notice Slashed collateral that no one can ever withdraw.
    uint256 public totalBurned;

    event JobOpened(
        bytes32 indexed jobKey,
        bytes32 indexed jobId,
        address indexed client,
        uint128 budget,
        uint64 deadline,
        uint32 segments,
        uint128 pricePerSegment,
        uint128 verifierFee,
        uint16 quorum,
        address[] verifiers
    );
    event BudgetAdded(bytes32 indexed jobKey, uint128 amount, uint128 budget);
    event CollateralPosted(bytes32 indexed jobKey, address indexed prover, uint128 amount, uint128 collateral);
    event Settled(
        bytes32 indexed jobKey,
        bytes32 root,
        uint128 total,
        bytes32 receiptDigest,
        bytes32 journalDigest,
        address[] verifiers
    );
    event Claimed(bytes32 indexed jobKey, address indexed payee, uint128 amount, uint128 paidNow);
    event AcceptancesClaimed(
        bytes32 indexed jobKey, address indexed prover, uint32 counted, uint32 skipped, uint128 accepted, uint128 paidNow
    );
    event Slashed(
        bytes32 indexed jobKey,
        address indexed prover,
        uint32 segment,
        bytes32 receiptDigest,
        uint128 burned,
        uint128 toClient,
        address[] verifiers
    );
    event Refunded(bytes32 indexed jobKey, address indexed client, uint128 amount);
    event CollateralWithdrawn(bytes32 indexed jobKey, address indexed prover, uint128 amount);
    event VerifierRegistered(address indexed verifier, uint128 bond);
    event VerifierRetiring(address indexed verifier, uint64 withdrawableAt);
    event VerifierBondWithdrawn(address indexed verifier, uint128 bond);

    error JobExists(bytes32 jobKey);
    error UnknownJob(bytes32 jobKey);
    error InvalidTerms(string what);
    error NotClient(address caller);
    error JobClosed(bytes32 jobKey);
    error PastDeadline(uint64 deadline);
    error ClaimsClosed(uint64 closedAt);
    error ClaimsOpen(uint64 closesAt);
    error AlreadySettled(bytes32 jobKey);
    error NotSettled(bytes32 jobKey);
    error BadClientSignature(address signer);
    error QuorumNotMet(uint256 signatures, uint16 quorum);
    error SignersNotAscending(address signer);
    error NotAVerifier(address signer);
    error VerifierConflict(address account);
    error NotAPayee(address payee);
    error NotAProver(address account);
    error InvalidProof();
    error AlreadyClaimed(address payee);
    error AcceptanceUsed(uint32 segment);
    error InsufficientEscrow(uint128 due, uint128 available);
    error NothingToSlash(address prover);
    error NothingToWithdraw();
    error ProverSlashed(address prover);
    error AlreadyRegistered(address verifier);
    error BondTooSmall(uint128 bond, uint128 minimum);
    error NotRetiring(address verifier);
    error StillBonded(uint64 withdrawableAt);

    constructor(uint16 minQuorum_, uint128 minVerifierBond_, uint64 minClaimWindow_, uint64 retireDelay_)
        EIP712("WholesumEscrow", "1")
    {
        if (minQuorum_ == 0 || minQuorum_ > MAX_VERIFIERS) revert InvalidTerms("minQuorum");
        if (minClaimWindow_ == 0 || minClaimWindow_ > MAX_CLAIM_WINDOW) revert InvalidTerms("minClaimWindow");
        minQuorum = minQuorum_;
        minVerifierBond = minVerifierBond_;
        minClaimWindow = minClaimWindow_;
        retireDelay = retireDelay_;
    }

    // ---- jobs -----------------------------------------------------------------------------

    /// @notice The key a client's job is kept under: only that client can open it.
    function jobKeyOf(address client, bytes32 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode(client, jobId));
    }

    /// @notice Opens a job and locks `msg.value` as its budget, which must cover every segment at
    /// the price and every verifier's fee.
    function openJob(JobTerms calldata terms) external payable returns (bytes32 jobKey) {
        jobKey = jobKeyOf(msg.sender, terms.jobId);
        if (_jobs[jobKey].client != address(0)) revert JobExists(jobKey);
        if (terms.deadline <= block.timestamp || terms.deadline > block.timestamp + MAX_JOB_DURATION) {
            revert InvalidTerms("deadline");
        }
        if (terms.claimWindow < minClaimWindow || terms.claimWindow > MAX_CLAIM_WINDOW) {
            revert InvalidTerms("claimWindow");
        }
        if (terms.segments == 0) revert InvalidTerms("segments");
        uint256 count = terms.verifiers.length;
        if (terms.quorum < minQuorum || terms.quorum > count || count > MAX_VERIFIERS) revert InvalidTerms("quorum");
        uint256 owed = uint256(terms.segments) * terms.pricePerSegment + count * terms.verifierFee;
        if (msg.value == 0 || msg.value < owed || msg.value > type(uint128).max) revert InvalidTerms("budget");
        address last = address(0);
        for (uint256 i = 0; i < count; ++i) {
            address v = terms.verifiers[i];
            if (v <= last) revert SignersNotAscending(v);
            if (!isActiveVerifier(v)) revert NotAVerifier(v);
            if (v == msg.sender) revert VerifierConflict(v);
            _jobVerifiers[jobKey][v] = true;
            last = v;
        }
        _jobs[jobKey] = Job({
            client: msg.sender,
            deadline: terms.deadline,
            quorum: terms.quorum,
            claimWindow: terms.claimWindow,
            settledAt: 0,
            segments: terms.segments,
            closed: false,
            budget: uint128(msg.value),
            paid: 0,
            pricePerSegment: terms.pricePerSegment,
            verifierFee: terms.verifierFee,
            paidToProvers: 0,
            root: bytes32(0)
        });
        emit JobOpened(
            jobKey,
            terms.jobId,
            msg.sender,
            uint128(msg.value),
            terms.deadline,
            terms.segments,
            terms.pricePerSegment,
            terms.verifierFee,
            terms.quorum,
            terms.verifiers
        );
    }

    /// @notice The client adds to a job's budget while its claims are open.
    function addBudget(bytes32 jobKey) external payable {
        Job storage job = _openJob(jobKey);
        if (msg.sender != job.client) revert NotClient(msg.sender);
        if (msg.value == 0 || uint256(job.budget) + msg.value > type(uint128).max) revert InvalidTerms("budget");
        job.budget += uint128(msg.value);
        emit BudgetAdded(jobKey, uint128(msg.value), job.budget);
    }

    /// @notice A prover posts collateral for its deal, before the job's deadline. The client and
    /// the job's verifiers cannot.
    function postCollateral(bytes32 jobKey) external payable {
        Job storage job = _openJob(jobKey);
        if (block.timestamp >= job.deadline) revert PastDeadline(job.deadline);
        if (msg.sender == job.client || _jobVerifiers[jobKey][msg.sender]) revert VerifierConflict(msg.sender);
        Account storage account = _accounts[jobKey][msg.sender];
        if (account.slashed) revert ProverSlashed(msg.sender);
        if (msg.value == 0 || uint256(account.collateral) + msg.value > type(uint128).max) {
            revert InvalidTerms("collateral");
        }
        account.collateral += uint128(msg.value);
        account.prover = true;
        emit CollateralPosted(jobKey, msg.sender, uint128(msg.value), account.collateral);
    }

    /// @notice Records the job's payouts: a root signed by the client and by a quorum of the job's
    /// verifiers (ascending addresses). Until the claims of an unsettled job close.
    function settle(
        bytes32 jobKey,
        bytes32 root,
        uint128 total,
        bytes32 receiptDigest,
        bytes32 journalDigest,
        bytes calldata clientSignature,
        bytes[] calldata verifierSignatures
    ) external {
        Job storage job = _claimableJob(jobKey);
        if (job.settledAt != 0) revert AlreadySettled(jobKey);
        if (total > job.budget) revert InsufficientEscrow(total, job.budget);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(SETTLEMENT_TYPEHASH, jobKey, root, total, receiptDigest, journalDigest))
        );
        address signer = ECDSA.recover(digest, clientSignature);
        if (signer != job.client) revert BadClientSignature(signer);
        address[] memory verifiers = _quorum(jobKey, job, digest, verifierSignatures);
        job.root = root;
        job.settledAt = uint64(block.timestamp);
        emit Settled(jobKey, root, total, receiptDigest, journalDigest, verifiers);
    }

    /// @notice Pays `payee` its leaf of the settlement root (anyone may send it; the money goes to
    /// the payee). Only a dealt prover or one of the job's verifiers can be paid; a verifier at
    /// most the fee. What the payee already received is deducted; a payee the escrow could not pay
    /// in full may claim again for the rest.
    function claim(bytes32 jobKey, address payee, uint128 amount, bytes32[] calldata proof) external nonReentrant {
        Job storage job = _claimableJob(jobKey);
        if (job.settledAt == 0) revert NotSettled(jobKey);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(payee, uint256(amount)))));
        if (!MerkleProof.verifyCalldata(proof, job.root, leaf)) revert InvalidProof();
        Account storage account = _accounts[jobKey][payee];
        uint128 paidNow;
        if (account.prover) {
            paidNow = _payProver(job, account, payee, amount);
        } else if (_jobVerifiers[jobKey][payee]) {
            paidNow = _pay(job, account, payee, amount < job.verifierFee ? amount : job.verifierFee, type(uint128).max);
        } else {
            revert NotAPayee(payee);
        }
        emit Claimed(jobKey, payee, amount, paidNow);
    }

    /// @notice The dispute path: a dealt prover shows the client's signed acceptances and is paid
    /// their sum, less what it already received. Each segment is paid through an acceptance once,
    /// at most at the job's price; acceptances of segments already paid are skipped. Works with or
    /// without a settlement, until the claims close.
    function claimAccepted(
        bytes32 jobKey,
        address prover,
        uint32[] calldata segments,
        uint128[] calldata amounts,
        bytes[] calldata signatures
    ) external nonReentrant {
        Job storage job = _claimableJob(jobKey);
        uint256 count = segments.length;
        if (count == 0 || amounts.length != count || signatures.length != count) revert InvalidTerms("acceptances");
        Account storage account = _accounts[jobKey][prover];
        if (!account.prover) revert NotAProver(prover);
        uint256 accepted = account.accepted;
        uint32 counted = 0;
        for (uint256 i = 0; i < count; ++i) {
            if (_useAcceptance(jobKey, job, prover, segments[i], amounts[i], signatures[i])) {
                accepted += amounts[i];
                ++counted;
            }
        }
        if (counted == 0) revert AcceptanceUsed(segments[0]);
        account.accepted = uint128(accepted); // at most segments x price: no overflow
        uint128 paidNow = _payProver(job, account, prover, uint128(accepted));
        emit AcceptancesClaimed(jobKey, prover, counted, uint32(count) - counted, uint128(accepted), paidNow);
    }

    /// @notice Slashes a prover's collateral on a fault signed by a quorum of the job's verifiers:
    /// half is burned, half goes to the job's budget (the client's). Once per prover and job,
    /// while claims are open.
    function slash(
        bytes32 jobKey,
        address prover,
        uint32 segment,
        bytes32 receiptDigest,
        bytes[] calldata verifierSignatures
    ) external {
        Job storage job = _claimableJob(jobKey);
        Account storage account = _accounts[jobKey][prover];
        if (account.slashed) revert ProverSlashed(prover);
        uint128 collateral = account.collateral;
        if (collateral == 0) revert NothingToSlash(prover);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(FAULT_TYPEHASH, jobKey, prover, segment, receiptDigest)));
        address[] memory verifiers = _quorum(jobKey, job, digest, verifierSignatures);
        account.slashed = true;
        account.collateral = 0;
        uint128 burned = collateral / 2;
        uint128 toClient = collateral - burned;
        totalBurned += burned;
        job.budget += toClient;
        emit Slashed(jobKey, prover, segment, receiptDigest, burned, toClient, verifiers);
    }

    /// @notice After the claims close, the client gets back what was not paid out.
    function refund(bytes32 jobKey) external nonReentrant {
        Job storage job = _knownJob(jobKey);
        if (job.closed) revert JobClosed(jobKey);
        uint64 closesAt = _claimsCloseAt(job);
        if (block.timestamp < closesAt) revert ClaimsOpen(closesAt);
        job.closed = true;
        uint128 amount = job.budget - job.paid;
        job.paid = job.budget;
        emit Refunded(jobKey, job.client, amount);
        if (amount > 0) Address.sendValue(payable(job.client), amount);
    }

    /// @notice After the claims close, a prover that was not slashed takes its collateral back.
    function withdrawCollateral(bytes32 jobKey) external nonReentrant {
        Job storage job = _knownJob(jobKey);
        uint64 closesAt = _claimsCloseAt(job);
        if (block.timestamp < closesAt) revert ClaimsOpen(closesAt);
        Account storage account = _accounts[jobKey][msg.sender];
        uint128 amount = account.collateral;
        if (amount == 0) revert NothingToWithdraw();
        account.collateral = 0;
        emit CollateralWithdrawn(jobKey, msg.sender, amount);
        Address.sendValue(payable(msg.sender), amount);
    }

    // ---- verifiers --------------------------------------------------------------------------

    /// @notice Joins the verifier registry with a bond: only registered verifiers can be named in
    /// a job's verifier set.
    function registerVerifier() external payable {
        if (_verifiers[msg.sender].bond != 0) revert AlreadyRegistered(msg.sender);
        if (msg.value < minVerifierBond || msg.value == 0 || msg.value > type(uint128).max) {
            revert BondTooSmall(uint128(msg.value), minVerifierBond);
        }
        _verifiers[msg.sender] = Verifier({bond: uint128(msg.value), retiringAt: 0});
        emit VerifierRegistered(msg.sender, uint128(msg.value));
    }

    /// @notice No new job can name this verifier from now on (jobs that already do keep it); the
    /// bond is withdrawable after `retireDelay`.
    function retireVerifier() external {
        Verifier storage v = _verifiers[msg.sender];
        if (v.bond == 0 || v.retiringAt != 0) revert NotAVerifier(msg.sender);
        v.retiringAt = uint64(block.timestamp) + retireDelay;
        emit VerifierRetiring(msg.sender, v.retiringAt);
    }

    function withdrawVerifierBond() external nonReentrant {
        Verifier memory v = _verifiers[msg.sender];
        if (v.retiringAt == 0) revert NotRetiring(msg.sender);
        if (block.timestamp < v.retiringAt) revert StillBonded(v.retiringAt);
        delete _verifiers[msg.sender];
        emit VerifierBondWithdrawn(msg.sender, v.bond);
        Address.sendValue(payable(msg.sender), v.bond);
    }

    // ---- views ------------------------------------------------------------------------------

    function getJob(bytes32 jobKey) external view returns (Job memory) {
        return _jobs[jobKey];
    }

    function getAccount(bytes32 jobKey, address who) external view returns (Account memory) {
        return _accounts[jobKey][who];
    }

    function getVerifier(address who) external view returns (Verifier memory) {
        return _verifiers[who];
    }

    function isJobVerifier(bytes32 jobKey, address who) external view returns (bool) {
        return _jobVerifiers[jobKey][who];
    }

    function isSegmentAccepted(bytes32 jobKey, uint32 segment) external view returns (bool) {
        return _segmentAccepted[keccak256(abi.encode(jobKey, segment))];
    }

    function isActiveVerifier(address who) public view returns (bool) {
        Verifier storage v = _verifiers[who];
        return v.bond != 0 && v.retiringAt == 0;
    }

    /// @notice When claims (root, acceptances, slashing) close and refunds open.
    function claimsCloseAt(bytes32 jobKey) external view returns (uint64) {
        return _claimsCloseAt(_knownJob(jobKey));
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---- internals --------------------------------------------------------------------------

    function _knownJob(bytes32 jobKey) private view returns (Job storage job) {
        job = _jobs[jobKey];
        if (job.client == address(0)) revert UnknownJob(jobKey);
    }

    function _openJob(bytes32 jobKey) private view returns (Job storage job) {
        job = _knownJob(jobKey);
        if (job.closed) revert JobClosed(jobKey);
    }

    function _claimableJob(bytes32 jobKey) private view returns (Job storage job) {
        job = _openJob(jobKey);
        uint64 closesAt = _claimsCloseAt(job);
        if (block.timestamp >= closesAt) revert ClaimsClosed(closesAt);
    }

    /// @dev Claims stay open a claim window after the deadline, or after the settlement when it
    /// came later: settling early never cuts the provers' time short.
    function _claimsCloseAt(Job storage job) private view returns (uint64) {
        uint64 from = job.settledAt > job.deadline ? job.settledAt : job.deadline;
        return from + job.claimWindow;
    }

    /// @dev Checks one acceptance (signed by the job's client, for a segment of the job, at most
    /// at its price) and marks its segment paid. False when that segment was paid already.
    function _useAcceptance(
        bytes32 jobKey,
        Job storage job,
        address prover,
        uint32 segment,
        uint128 amount,
        bytes calldata signature
    ) private returns (bool) {
        if (segment >= job.segments) revert InvalidTerms("segment");
        if (amount > job.pricePerSegment) revert InvalidTerms("amount");
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(ACCEPTANCE_TYPEHASH, jobKey, segment, prover, amount)));
        address signer = ECDSA.recover(digest, signature);
        if (signer != job.client) revert BadClientSignature(signer);
        bytes32 key = keccak256(abi.encode(jobKey, segment));
        if (_segmentAccepted[key]) return false;
        _segmentAccepted[key] = true;
        return true;
    }

    /// @dev A prover's payout, within what is left of the provers' share (segments x price).
    function _payProver(Job storage job, Account storage account, address prover, uint128 entitled)
        private
        returns (uint128 paidNow)
    {
        uint128 share = uint128(uint256(job.segments) * job.pricePerSegment);
        paidNow = _pay(job, account, prover, entitled, share - job.paidToProvers);
        job.paidToProvers += paidNow;
    }

    /// @dev Pays `payee` towards `entitled` in total for the job (a payee paid by root and by
    /// acceptances gets the larger of the two, never their sum), at most `cap` now and what the
    /// budget holds. Refused when nothing is due or nothing can be paid.
    function _pay(Job storage job, Account storage account, address payee, uint128 entitled, uint128 cap)
        private
        returns (uint128 paidNow)
    {
        if (entitled <= account.paid) revert AlreadyClaimed(payee);
        uint128 due = entitled - account.paid;
        uint128 available = job.budget - job.paid;
        if (cap < available) available = cap;
        if (available == 0) revert InsufficientEscrow(due, 0);
        paidNow = due < available ? due : available;
        account.paid += paidNow;
        job.paid += paidNow;
        Address.sendValue(payable(payee), paidNow);
    }

    /// @dev At least `job.quorum` signatures of `digest` by distinct verifiers of the job, in
    /// ascending address order.
    function _quorum(bytes32 jobKey, Job storage job, bytes32 digest, bytes[] calldata signatures)
        private
        view
        returns (address[] memory signers)
    {
        if (signatures.length < job.quorum) revert QuorumNotMet(signatures.length, job.quorum);
        signers = new address[](signatures.length);
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recover(digest, signatures[i]);
            if (signer <= last) revert SignersNotAscending(signer);
            if (!_jobVerifiers[jobKey][signer]) revert NotAVerifier(signer);
            signers[i] = signer;
            last = signer;
        }
    }
}
