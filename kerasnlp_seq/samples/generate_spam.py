"""Generate the bundled spam sample (`spam.tsv`), deterministically.

Short synthetic text messages in the SMS Spam Collection layout
(`label<TAB>text`, no header), about 13% spam as in the real collection.
Spam offers prizes, cash, ringtones and loans, with a call to action: a
short code to text, a premium phone number or a URL; a third of its
keywords are obfuscated ("fr33", "C4SH", "w1nner"), so a word vocabulary
sees unknown words where characters still carry the signal. Ham is chat
with SMS abbreviations, and some of it uses the words spam uses ("are you
free tonight", "we will win", a phone number, a link), and a tenth of the
spam poses as a personal message, so single words do not decide.

    python -m kerasnlp_seq.samples.generate_spam  # rewrites spam.tsv
"""

import os
import random

LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"}
PRIZES = ["a 1000 cash prize", "a brand new mobile", "a free holiday",
          "a 500 shopping voucher", "free tickets", "a 2000 award",
          "a free camera phone", "100 free texts"]
HOOKS = ["URGENT!", "Congratulations!", "WINNER!", "Free entry!",
         "FREE MSG:", "Final notice:", "Dear customer,", "You have won!"]
ACTIONS = ["Text WIN to {code} now", "Call {phone} to claim",
           "Reply YES to {code}", "Claim now at {url}",
           "Call {phone} before midnight", "Visit {url} to collect",
           "Send CLAIM to {code}", "txt STOP to {code} to opt out"]
PITCHES = ["You have been selected to receive {prize}.",
           "Your number was drawn for {prize}!",
           "Guaranteed {prize} for you this week.",
           "Get cheap loans today, no credit check, instant cash.",
           "New ringtones for your phone, only 1.50 per week.",
           "Hot singles in your area want to chat with you.",
           "Your account has a pending refund, verify your details.",
           "Cash in your old phone for {prize}."]
TAILS = ["T&C apply.", "18+ only.", "Cost 150p/msg.", "Limited offer.",
         "Expires today.", ""]
SPAM_WORDS = ["free", "cash", "winner", "prize", "claim", "urgent", "won",
              "award", "mobile", "text", "call", "now", "txt", "guaranteed"]

NAMES = ["Sam", "Jo", "mum", "dad", "Alex", "Priya", "Tom", "Kate", "Ben"]
PLACES = ["the pub", "town", "the gym", "work", "uni", "the station",
          "Tesco", "the cinema", "grandma's"]
TIMES = ["tonight", "tomorrow", "at 6", "after work", "later", "on Sunday",
         "in 10 mins", "this weekend"]
HAM = ["are you free {time}? fancy going to {place}",
       "ok lar... see you at {place} {time}",
       "sorry, i'll call you {time}",
       "can you pick up milk on the way home",
       "did you see the match? we will win the cup this year",
       "r u coming to {place} {time}? {name} is there",
       "i'm at {place}, where are you",
       "happy birthday {name}! have a great day",
       "running late, be there {time}",
       "thanks for the lift, got home fine",
       "my new number is {phone}, save it",
       "look at this {url} lol",
       "call me when you get this, it's about {time}",
       "haha that's so funny, tell {name}",
       "k, i'll text you when i leave {place}",
       "can't talk now, in a meeting. text me",
       "the tickets were free in the end, {name} got them",
       "don't forget dinner at {place} {time}",
       "good luck with the exam {time}!",
       "u won't believe what {name} said lol"]
HARD_HAM = ["You won the raffle!! call me on {phone} when you can",
            "free entry to the gig tonight, {name} put us on the list",
            "urgent: call mum now please, it's about grandma",
            "reply YES or NO, are you coming {time}",
            "text me the code for the wifi at {place}"]
HARD_SPAM = ["hey its {name}, been trying to reach u. call me on {phone} xx",
             "{name} sent you a private message, read it at {url}",
             "your parcel is waiting, confirm delivery at {url}"]


def obfuscate(rng, word):
    """Swap some letters for look-alike digits ("free" -> "fr33")."""
    chars = [LEET[c] if c in LEET and rng.random() < 0.6 else c
             for c in word.lower()]
    out = "".join(chars)
    return out.upper() if rng.random() < 0.5 else out


def phone(rng):
    return rng.choice(["0800", "0906", "0871", "09061"]) + "".join(
        str(rng.randint(0, 9)) for _ in range(7))


def url(rng):
    name = rng.choice(["win", "prize", "claim", "cash", "free", "bonus"])
    return rng.choice([f"www.{name}{rng.randint(1, 99)}.co.uk",
                       f"http://{name}-now.com/{rng.randint(100, 999)}",
                       f"bit.ly/{name}{rng.randint(10, 99)}"])


def spam(rng):
    """One spam message, a third of its keywords obfuscated."""
    text = " ".join(filter(None, [
        rng.choice(HOOKS),
        rng.choice(PITCHES).format(prize=rng.choice(PRIZES)),
        rng.choice(ACTIONS).format(code=rng.randint(80000, 89999),
                                   phone=phone(rng), url=url(rng)) + ".",
        rng.choice(TAILS)]))
    words = text.split(" ")
    for i, word in enumerate(words):
        if word.lower().strip("!.,:") in SPAM_WORDS and rng.random() < 0.35:
            words[i] = obfuscate(rng, word)
    text = " ".join(words)
    if rng.random() < 0.1:  # spam dressed as a personal message
        text = rng.choice(HARD_SPAM).format(
            name=rng.choice(NAMES), phone=phone(rng), url=url(rng))
    return text.upper() if rng.random() < 0.15 else text


def ham(rng):
    """One ordinary message (a few use spam's words)."""
    text = rng.choice(HARD_HAM if rng.random() < 0.05 else HAM).format(
        time=rng.choice(TIMES), place=rng.choice(PLACES),
        name=rng.choice(NAMES),
        phone="07" + "".join(str(rng.randint(0, 9)) for _ in range(9)),
        url=rng.choice(["youtube.com/watch?v=x1", "www.bbc.co.uk/news",
                        "http://maps.google.com/abc"]))
    if rng.random() < 0.3:
        text = text.capitalize()
    return text


def generate(n=800, spam_share=0.13, seed=0):
    """`n` (label, text) pairs, `spam_share` of them spam, seeded order."""
    rng = random.Random(seed)
    n_spam = int(round(n * spam_share))
    rows = [("spam", spam(rng)) for _ in range(n_spam)]
    rows += [("ham", ham(rng)) for _ in range(n - n_spam)]
    rng.shuffle(rows)
    return rows


def main():
    path = os.path.join(os.path.dirname(__file__), "spam.tsv")
    with open(path, "w", encoding="utf-8") as f:
        for label, text in generate():
            f.write(f"{label}\t{text}\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
